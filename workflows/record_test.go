package workflows

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/aftersales/aftersales/models"
)

// The recorder of the replay histories (see replay_test.go). Every script below
// drives one ticket (or watch) on an in-process Temporal server through the
// client, as the API and the webhooks do, and saves its history:
//
//	AFTERSALES_RECORD_HISTORIES=1 go test ./workflows/ -run TestRecordHistories -count=1 -v -parallel 16
//
// The scripts run in parallel subtests against one server and one set of fakes
// (each ticket has its own order). A deadline path runs in real time under
// quickPolicy, which cuts only the deadlines under test to a few seconds.

// quick is the timeout of a deadline a script waits for.
const quick = 3 * time.Second

// quickPolicy is the built-in policy with the named deadlines (the "on timeout"
// column of DESIGN.md §2: review_by, offer_response_by, ...) cut to quick; every
// other deadline keeps its days, so only the named ones fire.
func quickPolicy(deadlines ...string) models.Policy {
	p := models.DefaultPolicy()
	p.Version = "record-1"
	p.LateMoneyWindow = models.Duration(quick) // a script's run ends soon after its ticket
	// The scripts' no-reason tickets inspect within inspect_timeout and report
	// delays as every other (the no-reason bound is
	// models.TestNoReasonRefundWithinSevenDays').
	p.NoReasonInspectTimeout = 0
	fields := map[string]*models.Duration{
		"review_by": &p.ReviewTimeout, "offer_response_by": &p.OfferResponseTimeout, "appeal_by": &p.AppealTimeout,
		"pickup_by": &p.PickupTimeout, "ship_by": &p.BuyerShipTimeout, "arrive_by": &p.TransitTimeout,
		"inspect_by": &p.InspectTimeout, "refund_by": &p.RefundTimeout, "confirm_by": &p.ReplacementConfirmTimeout,
		"repair_by": &p.RepairTimeout, "evidence_by": &p.EvidenceTimeout, "decide_by": &p.ArbiterTimeout,
		"recover_by": &p.RecoverTimeout,
	}
	for _, name := range deadlines {
		f, ok := fields[name]
		if !ok {
			panic("quickPolicy: no deadline " + name)
		}
		*f = models.Duration(quick)
	}
	return p
}

// Actions the scripts share.
var (
	recApprove  = seller(models.ActApprove)
	recReject   = seller(models.ActReject, models.ActionBody{Reason: "no proof of the defect"})
	recShip     = buyer(models.ActShip, models.ActionBody{Carrier: "SF", TrackingNo: "SF1"})
	recReceived = seller(models.ActConfirmReceipt, models.ActionBody{Note: "parcel at the warehouse"})
	recPass     = seller(models.ActInspect, models.ActionBody{Result: models.InspectPass, Note: "as new"})
	recEscalate = buyer(models.ActEscalate, models.ActionBody{Reason: "the seller ignores the photos"})
	recEvidence = buyer(models.ActEvidence, models.ActionBody{Note: "photos", URLs: []string{"https://img.example/1.jpg"}})
	recDelay    = seller(models.ActReportDelay, models.ActionBody{Reason: "warehouse closed for the holiday", Extend: "24h"})
)

func recOffer(cents int64, keepItem bool) actionOp {
	return seller(models.ActOffer, models.ActionBody{RefundCents: i64(cents), KeepItem: keepItem, Note: "an offer"})
}

func recVerdict(verdict string, cents int64) actionOp {
	return platform(models.ActArbitrate, models.ActionBody{Verdict: verdict, RefundCents: i64(cents), Note: "decided"})
}

// The provider's answers.
const (
	paidOK    = models.RefundSucceeded
	payFailed = models.RefundFailed
)

// recordings are the scripts, named by the history they save first.
var recordings = []struct {
	name string
	run  func(l *live)
}{
	// ---- the state table's actions and courier events ----
	{"ticket_pickup_return_refund", func(l *live) {
		l.start("RP1", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
		l.act(seller(models.ActReply, models.ActionBody{Message: "we will pick it up"}))
		l.act(recApprove)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.finish("ticket_pickup_return_refund.json", models.OutcomeRefunded)
	}},
	{"ticket_lightning_refund", func(l *live) { // fast review, refunded at pickup, no inspection
		l.start("RL1", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), quickPolicy())
		l.waitState(models.StateAwaitingPickup)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.pay(1, paidOK)
		l.courier(models.CourierDelivered, models.StateCompleted)
		l.finish("ticket_lightning_refund.json", models.OutcomeRefunded)
	}},
	{"ticket_lightning_self_ship", func(l *live) { // refunded once the tracking number is verified
		l.start("RL2", newCreate(models.KindReturnRefund, models.ReturnSelfShip, lightning()), quickPolicy())
		l.waitState(models.StateAwaitingBuyerShipment)
		l.act(recShip)
		l.pay(1, paidOK)
		l.courier(models.CourierDelivered, models.StateCompleted)
		l.finish("ticket_lightning_self_ship.json", models.OutcomeRefunded)
	}},
	{"ticket_escalation_verdict", func(l *live) { // rejected, escalated, evidence, support_buyer with an amount
		l.start("RE1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recReject)
		l.act(recEscalate)
		l.act(recEvidence)
		l.act(seller(models.ActEvidence, models.ActionBody{Note: "the item was fine when sent"}))
		l.act(recVerdict(models.VerdictSupportBuyer, 60_000))
		l.pay(1, paidOK)
		l.finish("ticket_escalation_verdict.json", models.OutcomePartiallyRefunded)
		l.saveEscalation(1, "escalation_child_verdict.json")
	}},
	{"ticket_swap_on_delivery", func(l *live) {
		l.start("RS1", newCreate(models.KindExchange, models.ReturnSwapOnDelivery), quickPolicy())
		l.act(recApprove)
		l.waitBooked(1)
		l.courier(models.CourierSwapCompleted, models.StateCompleted)
		l.finish("ticket_swap_on_delivery.json", models.OutcomeSwapped)
	}},
	{"ticket_swap_failed_self_ship", func(l *live) { // swap_failed: re-booked, then the buyer ships
		l.start("RS2", newCreate(models.KindExchange, models.ReturnSwapOnDelivery), quickPolicy())
		l.act(recApprove)
		l.waitBooked(1)
		l.courier(models.CourierSwapFailed, models.StateAwaitingPickup)
		l.waitBooked(2)
		l.courier(models.CourierSwapFailed, models.StateAwaitingBuyerShipment)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.courier(models.CourierReplacementDelivered, models.StateReplacementShipping)
		l.act(buyer(models.ActConfirmReplacement))
		l.finish("ticket_swap_failed_self_ship.json", models.OutcomeExchanged)
	}},
	{"ticket_exchange", func(l *live) { // the seller confirms receipt; the replacement ships
		l.start("RX1", newCreate(models.KindExchange, models.ReturnSelfShip), quickPolicy())
		l.act(recApprove)
		l.act(recShip)
		l.act(recReceived)
		l.act(recPass)
		l.courier(models.CourierReplacementDelivered, models.StateReplacementShipping)
		l.act(buyer(models.ActConfirmReplacement))
		l.finish("ticket_exchange.json", models.OutcomeExchanged)
	}},
	{"ticket_exchange_dearer", func(l *live) { // the replacement costs 2.50 more a unit: 5.00 charged as it ends
		dearer := int64(1_250)
		l.start("RX2", newCreate(models.KindExchange, models.ReturnSelfShip, func(c *models.CreateTicket) {
			c.Order.PaidCents, c.ReasonCode = 5_500, models.ReasonQuality
			c.Items = []models.Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1_000}}
		}), quickPolicy())
		l.act(seller(models.ActApprove, models.ActionBody{ExchangeUnitCents: &dearer}))
		l.act(recShip)
		l.act(recReceived)
		l.act(recPass)
		l.courier(models.CourierReplacementDelivered, models.StateReplacementShipping)
		l.act(buyer(models.ActConfirmReplacement))
		l.pay(1, paidOK)
		l.finish("ticket_exchange_dearer.json", models.OutcomeExchanged)
	}},
	{"ticket_repair", func(l *live) {
		l.start("RR1", newCreate(models.KindRepair, models.ReturnPickup), quickPolicy())
		l.act(recApprove)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.courier(models.CourierDelivered, models.StateRepairing)
		l.act(recDelay)
		l.courier(models.CourierReplacementDelivered, models.StateCompleted)
		l.finish("ticket_repair.json", models.OutcomeRepaired)
	}},
	{"ticket_escalate_from_repairing", func(l *live) {
		l.start("RR2", newCreate(models.KindRepair, models.ReturnPickup), quickPolicy())
		l.act(recApprove)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.courier(models.CourierDelivered, models.StateRepairing)
		l.act(buyer(models.ActEscalate, models.ActionBody{Reason: "the repair centre does not answer"}))
		l.act(recVerdict(models.VerdictSupportBuyer, 20_000))
		l.pay(1, paidOK)
		l.finish("ticket_escalate_from_repairing.json", models.OutcomeRefunded)
	}},
	{"ticket_fast_review_refund_only", func(l *live) {
		l.start("RF1", newCreate(models.KindRefundOnly, models.ReturnNone, credit(3), asking(20_000)), quickPolicy())
		l.pay(1, paidOK)
		l.finish("ticket_fast_review_refund_only.json", models.OutcomeRefunded)
	}},
	{"ticket_price_protection", func(l *live) {
		l.start("RPP", newCreate(models.KindPriceProtection, models.ReturnNone), quickPolicy())
		l.act(recApprove)
		l.pay(1, paidOK)
		l.finish("ticket_price_protection.json", models.OutcomePriceProtected)
	}},
	{"ticket_pickup_failed_self_ship", func(l *live) { // pickup_failed: re-booked, then the buyer ships
		l.start("RP2", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
		l.act(recApprove)
		l.waitBooked(1)
		l.courier(models.CourierPickupFailed, models.StateAwaitingPickup)
		l.waitBooked(2)
		l.courier(models.CourierPickupFailed, models.StateAwaitingBuyerShipment)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.finish("ticket_pickup_failed_self_ship.json", models.OutcomeRefunded)
	}},
	{"ticket_delivered_before_pickup", func(l *live) { // delivered reported before picked_up
		l.start("RP3", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
		l.act(recApprove)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.finish("ticket_delivered_before_pickup.json", models.OutcomeRefunded)
	}},
	{"ticket_offer_keep_item", func(l *live) { // accepted with keep_item: no return, so no freight claim
		l.start("RN1", newCreate(models.KindReturnRefund, models.ReturnSelfShip, freightInsured()), quickPolicy())
		l.act(recOffer(30_000, true))
		l.act(buyer(models.ActAcceptOffer))
		l.pay(1, paidOK)
		tk := l.finish("ticket_offer_keep_item.json", models.OutcomePartiallyRefunded)
		if len(tk.Refunds) != 1 {
			l.t.Errorf("a kept item claimed freight: %+v", tk.Refunds)
		}
	}},
	{"ticket_offer_declined_then_return", func(l *live) { // counter-offer, decline, accepted offer with a return
		l.start("RN2", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy())
		l.act(recOffer(80_000, false))
		l.act(recOffer(90_000, false))
		l.act(buyer(models.ActDeclineOffer, models.ActionBody{Note: "I want it all"}))
		l.act(recOffer(80_000, false))
		l.act(buyer(models.ActAcceptOffer))
		l.waitState(models.StateAwaitingBuyerShipment)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.finish("ticket_offer_declined_then_return.json", models.OutcomeRefunded)
	}},
	{"ticket_offer_after_reject_escalated", func(l *live) { // offer from rejected, escalated, support_seller
		l.start("RN3", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recReject)
		l.act(recOffer(50_000, true))
		l.act(recEscalate)
		l.act(platform(models.ActArbitrate, models.ActionBody{Verdict: models.VerdictSupportSeller, Note: "as described"}))
		l.finish("ticket_offer_after_reject_escalated.json", models.OutcomePlatformDeclined)
	}},
	{"ticket_revise_after_reject", func(l *live) {
		l.start("RV1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recReject)
		l.act(buyer(models.ActRevise, models.ActionBody{RequestedCents: i64(50_000), Reason: "half is fine"}))
		l.act(recApprove)
		l.pay(1, paidOK)
		l.finish("ticket_revise_after_reject.json", models.OutcomeRefunded)
	}},
	{"ticket_cancel_pending_review", func(l *live) {
		l.start("RC1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(buyer(models.ActCancel, models.ActionBody{Reason: "found it"}))
		l.finish("ticket_cancel_pending_review.json", models.OutcomeWithdrawn)
	}},
	{"ticket_cancel_awaiting_pickup", func(l *live) { // the booked pickup is cancelled
		l.start("RC2", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
		l.act(recApprove)
		l.waitBooked(1)
		l.act(buyer(models.ActCancel, models.ActionBody{Reason: "keeping it"}))
		l.finish("ticket_cancel_awaiting_pickup.json", models.OutcomeWithdrawn)
	}},
	{"ticket_inspect_fail_overruled", func(l *live) { // fail, escalated, the platform overrules
		l.start("RI1", newCreate(models.KindReturnRefund, models.ReturnSelfShip, reason(models.ReasonQuality)), quickPolicy())
		l.act(recApprove)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(seller(models.ActInspect, models.ActionBody{Result: models.InspectFail, Note: "used"}))
		l.act(recEscalate)
		l.act(recEvidence)
		l.act(recVerdict(models.VerdictSupportBuyer, 0))
		l.pay(1, paidOK)
		l.finish("ticket_inspect_fail_overruled.json", models.OutcomeRefunded)
	}},
	{"ticket_inspect_lines", func(l *live) { // 2 cups and a plate returned, 1 cup arrives: only it and the plate refunded
		l.start("RIL", newCreate(models.KindReturnRefund, models.ReturnSelfShip, cupsAndPlate), quickPolicy())
		l.act(recApprove)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(seller(models.ActInspect, models.ActionBody{Result: models.InspectPass, Note: "one cup missing",
			Lines: []models.LineInspection{{SKU: "CUP", Received: 1}, {SKU: "PLATE", Received: 1, Disposition: models.DispositionRestock}}}))
		l.pay(1, paidOK)
		l.finish("ticket_inspect_lines.json", models.OutcomePartiallyRefunded)
	}},
	{"ticket_inspect_deduct", func(l *live) { // delay reported in inspection, 20 % restocking fee
		l.start("RI2", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy())
		l.act(recApprove)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recDelay)
		l.act(seller(models.ActInspect, models.ActionBody{Result: models.InspectDeduct, DeductPercent: 20, Note: "worn"}))
		l.pay(1, paidOK)
		l.finish("ticket_inspect_deduct.json", models.OutcomePartiallyRefunded)
	}},
	{"ticket_freight_insurance", func(l *live) { // claimed after the return, the end waits for it
		l.start("RFI", newCreate(models.KindReturnRefund, models.ReturnSelfShip, freightInsured()), quickPolicy())
		l.act(recApprove)
		l.act(recShip)
		l.act(recReceived)
		l.act(recPass)
		l.pay(1, paidOK)
		l.pay(2, paidOK) // the freight claim
		l.finish("ticket_freight_insurance.json", models.OutcomeRefunded)
	}},
	{"ticket_report_delay", func(l *live) { // in pending_review and in refunding
		l.start("RD1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recDelay)
		l.act(recApprove)
		l.act(recDelay)
		l.pay(1, paidOK)
		l.finish("ticket_report_delay.json", models.OutcomeRefunded)
	}},

	// ---- the "on timeout" column ----
	{"ticket_timeout_review", func(l *live) { // auto-approve
		l.start("TR1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy("review_by"))
		l.waitAction("auto_approve")
		l.pay(1, paidOK)
		l.finish("ticket_timeout_review.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_offer_response", func(l *live) {
		l.start("TN1", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy("offer_response_by"))
		l.act(recOffer(30_000, true))
		l.finish("ticket_timeout_offer_response.json", models.OutcomeExpired)
	}},
	{"ticket_timeout_appeal", func(l *live) {
		l.start("TA1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy("appeal_by"))
		l.act(recReject)
		l.finish("ticket_timeout_appeal.json", models.OutcomeRejected)
	}},
	{"ticket_timeout_pickup", func(l *live) { // re-booked, then self_ship
		l.start("TP1", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy("pickup_by"))
		l.act(recApprove)
		l.waitAction("rebook_pickup")
		l.waitAction("fallback_self_ship")
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.finish("ticket_timeout_pickup.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_ship", func(l *live) {
		l.start("TS1", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy("ship_by"))
		l.act(recApprove)
		l.finish("ticket_timeout_ship.json", models.OutcomeExpired)
	}},
	{"ticket_timeout_arrive_escalated", func(l *live) { // no lightning refund: escalated
		l.start("TT1", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy("arrive_by"))
		l.act(recApprove)
		l.act(recShip)
		l.waitState(models.StateEscalated)
		l.act(seller(models.ActEvidence, models.ActionBody{Note: "never arrived"}))
		l.act(recVerdict(models.VerdictSupportBuyer, 100_000))
		l.pay(1, paidOK)
		l.finish("ticket_timeout_arrive_escalated.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_arrive_recovered", func(l *live) { // lightning refund paid: recovery charged, closed recovered
		l.start("TT2", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), quickPolicy("arrive_by"))
		l.waitState(models.StateAwaitingPickup)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.pay(1, paidOK)
		l.waitState(models.StateRecovering)
		l.pay(2, paidOK) // the recovery charge
		l.finish("ticket_timeout_arrive_recovered.json", models.OutcomeRecovered)
	}},
	{"ticket_recovery_goods_arrive", func(l *live) { // goods arrive during recovery: the charge is repaid
		l.start("TT3", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), quickPolicy("arrive_by"))
		l.waitState(models.StateAwaitingPickup)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.pay(1, paidOK)
		l.waitState(models.StateRecovering)
		l.waitMoney(2, models.RefundSent)
		l.courier(models.CourierDelivered, models.StateRefunding)
		l.pay(2, paidOK) // the recovery charge lands after the goods
		l.pay(3, paidOK) // and is paid back
		l.finish("ticket_recovery_goods_arrive.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_recover_written_off", func(l *live) { // written off; a late charge is kept, late goods repay it
		l.start("TT4", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), quickPolicy("arrive_by", "recover_by"))
		l.waitState(models.StateAwaitingPickup)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.pay(1, paidOK)
		l.waitState(models.StateRecovering)
		l.waitMoney(2, models.RefundSent)
		l.waitState(models.StateEscalated)
		l.pay(2, paidOK) // the recovery charge settles after the write-off
		l.courier(models.CourierDelivered, models.StateEscalated)
		l.waitFor("the goods recorded", func(tk models.Ticket) bool { return tk.Logistics.Returned })
		l.pay(3, paidOK) // the recovery paid back
		l.act(recVerdict(models.VerdictSupportBuyer, 0))
		l.finish("ticket_timeout_recover_written_off.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_inspect", func(l *live) { // auto-pass, full refund
		l.start("TI1", newCreate(models.KindReturnRefund, models.ReturnSelfShip), quickPolicy("inspect_by"))
		l.act(recApprove)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.waitAction("auto_pass")
		l.pay(1, paidOK)
		l.finish("ticket_timeout_inspect.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_refund_lookup", func(l *live) { // forced: the lost webhook is found by lookup
		l.start("TF1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy("refund_by"))
		l.act(recApprove)
		l.waitMoney(1, models.RefundSent)
		l.f.pay.settle(models.RefundKey(l.ticket, 1), paidOK) // its webhook never comes
		l.waitAction("force_refund")
		l.finish("ticket_timeout_refund_lookup.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_refund_escalated", func(l *live) { // missed twice: escalated; the platform waits for the key
		l.patience = 3 * time.Minute // the lookup that found the key still sent asks again a minute later
		l.start("TF2", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy("refund_by"))
		l.act(recApprove)
		l.waitAction("force_refund")
		l.waitState(models.StateEscalated)
		l.act(recVerdict(models.VerdictSupportBuyer, 0))
		l.pay(1, paidOK)
		l.finish("ticket_timeout_refund_escalated.json", models.OutcomeRefunded)
	}},
	{"ticket_timeout_confirm", func(l *live) { // auto-confirm after the replacement's delivery
		l.start("TC1", newCreate(models.KindExchange, models.ReturnSelfShip), quickPolicy("confirm_by"))
		l.act(recApprove)
		l.act(recShip)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.courier(models.CourierReplacementDelivered, models.StateReplacementShipping)
		l.waitAction("auto_confirm")
		l.finish("ticket_timeout_confirm.json", models.OutcomeExchanged)
	}},
	{"ticket_timeout_repair_auto_verdict", func(l *live) { // escalated; nobody answers: support_seller at decide_by
		l.start("TM1", newCreate(models.KindRepair, models.ReturnPickup), quickPolicy("repair_by", "evidence_by", "decide_by"))
		l.act(recApprove)
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.courier(models.CourierDelivered, models.StateRepairing)
		l.waitState(models.StateEscalated)
		l.finish("ticket_timeout_repair_auto_verdict.json", models.OutcomePlatformDeclined)
		l.saveEscalation(1, "escalation_child_nobody_answered.json")
	}},

	// ---- money rules ----
	{"ticket_refund_failed_new_key", func(l *live) { // failed, looked up, void, a new key paid
		l.start("RM1", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recApprove)
		l.pay(1, payFailed)
		l.waitMoney(1, models.RefundVoid)
		l.pay(2, paidOK)
		l.finish("ticket_refund_failed_new_key.json", models.OutcomeRefunded)
	}},
	{"ticket_late_success_overpayment", func(l *live) { // the voided key pays after all: charged back
		l.start("RM2", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy())
		l.act(recApprove)
		l.pay(1, payFailed)
		l.pay(2, paidOK)
		l.waitState(models.StateCompleted)
		l.pay(1, paidOK) // late
		l.pay(3, paidOK) // the overpayment charged back
		l.finish("ticket_late_success_overpayment.json", models.OutcomeRefunded)
	}},
	{"ticket_refund_failed_capped_verdict", func(l *live) { // refund_attempts voided: escalated; the automatic verdict is capped
		l.start("RM3", newCreate(models.KindRefundOnly, models.ReturnNone), quickPolicy("evidence_by", "decide_by"))
		l.act(recApprove)
		l.pay(1, payFailed)
		l.pay(2, payFailed)
		l.pay(3, payFailed)
		l.waitState(models.StateEscalated)
		l.act(recEvidence)
		l.pay(1, paidOK) // late: the claim is paid already, the verdict at decide_by is capped to 0
		l.finish("ticket_refund_failed_capped_verdict.json", models.OutcomeRefunded)
		l.saveEscalation(1, "escalation_child_auto_verdict.json")
	}},

	// ---- the delayed-shipment watch ----
	{"shipping_watch_compensation", func(l *live) { // a watch named by its order alone, as before shops keyed orders
		l.compensatedWatch("OW1", false, "shipping_watch_compensation.json")
	}},
	{"shipping_watch_compensation_by_shop", func(l *live) { // a watch whose id and keys name its shop
		l.compensatedWatch("OW3", true, "shipping_watch_compensation_by_shop.json")
	}},
	{"shipping_watch_shipped", func(l *live) {
		id := l.startWatch("OW2", time.Now(), false)
		if err := l.c.SignalWorkflow(l.ctx, id, "", SignalShipped, nil); err != nil {
			l.t.Fatal(err)
		}
		l.waitWorkflow(id)
		l.save(id, "shipping_watch_shipped.json")
	}},
}

// compensatedWatch records a watch whose deadline passed before it started,
// its compensation confirmed by the provider's webhook as the API delivers it:
// the ledger first, then the watch.
func (l *live) compensatedWatch(orderID string, byShop bool, file string) {
	id := l.startWatch(orderID, time.Now().Add(-72*time.Hour), byShop)
	in := ShippingWatchInput{OrderID: orderID, ShopID: shopID, NamedByShop: byShop}
	k := in.compensationKey(1)
	deadline := time.Now().Add(20 * time.Second)
	for l.f.pay.status(k) != models.RefundSent && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	l.f.pay.settle(k, models.RefundSucceeded)
	if _, err := l.f.ledger.MarkRefund(l.ctx, k, models.RefundSucceeded, "pay-"+k); err != nil {
		l.t.Fatalf("ledger %s: %v", k, err)
	}
	if err := l.c.SignalWorkflow(l.ctx, id, "", SignalPayment, models.PaymentEvent{EventID: "rec-w-" + orderID, RefundKey: k,
		Status: models.RefundSucceeded, ProviderRef: "pay-" + k}); err != nil {
		l.t.Fatalf("signal payment: %v", err)
	}
	l.waitWorkflow(id)
	l.save(id, file)
}

// newRecorder starts an in-process Temporal server with the search attributes
// and a recorder on it, whose context ends after d or with t.
func newRecorder(t *testing.T, d time.Duration) (*temporaltest.TestServer, *recorder) {
	t.Helper()
	srv := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{Logger: testLogger{t}}))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	r := &recorder{c: srv.GetDefaultClient(), ctx: ctx, f: newFakes(), saved: map[string]int{}}
	if _, err := r.c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: srv.GetDefaultNamespace(), SearchAttributes: SearchAttributes}); err != nil {
		t.Fatalf("add search attributes: %v", err)
	}
	return srv, r
}

// startWorker starts a worker of r's workflows and fakes with opts.
func (r *recorder) startWorker(t *testing.T, opts worker.Options) worker.Worker {
	t.Helper()
	w := worker.New(r.c, TaskQueue, opts)
	registerWorkflows(w)
	w.RegisterActivity(r.f.activities())
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	return w
}

func TestRecordHistories(t *testing.T) {
	if os.Getenv(recordEnv) != "1" {
		t.Skipf("set %s=1 to record testdata/*.json against an in-process Temporal server", recordEnv)
	}
	srv, r := newRecorder(t, 10*time.Minute)
	srv.NewWorker(TaskQueue, func(reg worker.Registry) {
		registerWorkflows(reg)
		reg.RegisterActivity(r.f.activities())
	})
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32 // scripts run: -run may pick some
	t.Run("record", func(t *testing.T) {
		for _, s := range recordings {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				ran.Add(1)
				s.run(&live{t: t, recorder: r, patience: 30 * time.Second})
			})
		}
	})
	if r.refused {
		t.Error(historiesHowTo)
	}
	if err := r.f.pay.check(); err != nil {
		t.Error(err)
	}
	if int(ran.Load()) < len(recordings) {
		return
	}
	for name := range recordedHistories {
		if r.saved[name] == 0 {
			t.Errorf("%s is listed in recordedHistories but no script recorded it", name)
		}
	}
	for name := range r.saved {
		if _, ok := recordedHistories[name]; !ok {
			t.Errorf("%s was recorded but is not listed in recordedHistories", name)
		}
	}
}

// recorder is what the scripts share: the client, the fakes behind the worker,
// and the files saved so far.
type recorder struct {
	c   client.Client
	ctx context.Context
	f   *fakes

	mu      sync.Mutex
	saved   map[string]int // file -> events
	refused bool           // a history was not kept (keepHistory)
}

// live drives one ticket (or watch) on the server, as the API and the webhooks do.
type live struct {
	*recorder
	t        *testing.T
	ticket   string        // the ticket id
	n        int           // request and event ids
	patience time.Duration // how long a wait may take
}

func (l *live) id() string { return TicketWorkflowID(l.ticket) }

// start creates the ticket as api/tickets.go startTicket does: the start, then
// the creation written to the read model by the starter. Each ticket has an
// order of its own.
func (l *live) start(ticketID string, c models.CreateTicket, p models.Policy) {
	l.t.Helper()
	l.ticket = ticketID
	c.OrderID = "order-" + ticketID
	in := TicketInput{TicketID: ticketID, Create: c, Policy: p, Actor: c.BuyerID, Role: models.RoleBuyer,
		RequestID: "create-" + ticketID, CreatedAt: time.Now().UTC().Truncate(time.Millisecond), CreationProjected: true}
	created, err := CreatedTicket(in)
	if err == nil {
		_, err = l.c.ExecuteWorkflow(l.ctx, StartOptions(in), "TicketWorkflow", in)
	}
	if err == nil {
		err = l.f.store.SaveTicket(l.ctx, created)
	}
	if err != nil {
		l.t.Fatalf("create %s: %v", ticketID, err)
	}
}

// act sends an action as the API does and fails unless the ticket accepts it.
func (l *live) act(a actionOp) models.Ticket {
	l.t.Helper()
	res, err := l.send(a)
	if err != nil {
		l.t.Fatalf("%s by %s: %v (timeline %v)", a.req.Action, a.req.Role, err, actionsOf(l.query()))
	}
	return res.Ticket
}

// send sends an action as the API does, with a fresh request id.
func (l *live) send(a actionOp) (ActionResult, error) {
	l.n++
	req := a.req
	req.RequestID = fmt.Sprintf("rec-%d", l.n)
	h, err := l.c.UpdateWorkflow(l.ctx, client.UpdateWorkflowOptions{WorkflowID: l.id(), UpdateName: UpdateAction,
		UpdateID: req.RequestID, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted})
	var res ActionResult
	if err == nil {
		err = h.Get(l.ctx, &res)
	}
	return res, err
}

// courier sends a courier webhook and waits until the ticket is in state want.
func (l *live) courier(typ string, want models.State) {
	l.t.Helper()
	l.n++
	ev := models.CourierEvent{EventID: fmt.Sprintf("rec-c-%d", l.n), TicketID: l.ticket, Type: typ, TrackingNo: "SF1", At: time.Now().UTC()}
	if err := l.c.SignalWorkflow(l.ctx, l.id(), "", SignalCourier, ev); err != nil {
		l.t.Fatalf("signal %s: %v", typ, err)
	}
	l.waitState(want)
}

// pay answers the ticket's n-th money movement as the provider does: once the
// ticket has sent it, the provider settles it and its webhook arrives; pay
// returns when the ticket has taken the answer.
func (l *live) pay(n int, status models.MoneyStatus) {
	l.t.Helper()
	l.waitMoney(n, models.RefundSent)
	l.f.pay.settle(models.RefundKey(l.ticket, n), status)
	l.webhook(n, status)
	l.waitMoney(n, status)
}

// webhook sends the payment webhook for the n-th movement as api/webhooks.go
// does: the ledger records it first, then the ticket is signalled.
func (l *live) webhook(n int, status models.MoneyStatus) {
	l.t.Helper()
	l.n++
	k := models.RefundKey(l.ticket, n)
	if _, err := l.f.ledger.MarkRefund(l.ctx, k, status, "pay-"+k); err != nil {
		l.t.Fatalf("ledger %s: %v", k, err)
	}
	ev := models.PaymentEvent{EventID: fmt.Sprintf("rec-p-%d", l.n), TicketID: l.ticket, RefundKey: k,
		Status: status, ProviderRef: "pay-" + k, Reason: reasonFor(status)}
	if err := l.c.SignalWorkflow(l.ctx, l.id(), "", SignalPayment, ev); err != nil {
		l.t.Fatalf("signal payment: %v", err)
	}
}

func (l *live) query() models.Ticket {
	l.t.Helper()
	v, err := l.c.QueryWorkflow(l.ctx, l.id(), "", QueryTicket)
	if err != nil {
		l.t.Fatalf("query %s: %v", l.id(), err)
	}
	var tk models.Ticket
	if err := v.Get(&tk); err != nil {
		l.t.Fatal(err)
	}
	return tk
}

// waitFor polls the ticket until ok holds, for at most l.patience.
func (l *live) waitFor(what string, ok func(models.Ticket) bool) models.Ticket {
	l.t.Helper()
	deadline := time.Now().Add(l.patience)
	for {
		tk := l.query()
		if ok(tk) {
			return tk
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s never reached %s: %s, refunds %+v, timeline %v", l.ticket, what, tk.State, tk.Refunds, actionsOf(tk))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *live) waitState(s models.State) {
	l.t.Helper()
	l.waitFor(string(s), func(tk models.Ticket) bool { return tk.State == s })
}

// waitAction waits for a timeline entry with one of the actions.
func (l *live) waitAction(actions ...string) {
	l.t.Helper()
	l.waitFor(fmt.Sprint(actions), func(tk models.Ticket) bool {
		for _, a := range actions {
			if hasAction(tk, a) {
				return true
			}
		}
		return false
	})
}

// waitBooked waits for the booking of the courier visit's attempt.
func (l *live) waitBooked(attempt int) {
	l.t.Helper()
	l.waitFor(fmt.Sprintf("visit %d booked", attempt), func(tk models.Ticket) bool {
		return tk.Logistics.PickupAttempts == attempt && tk.Logistics.PickupBooking != ""
	})
}

// waitMoney waits until the n-th money movement exists with status or one above it.
func (l *live) waitMoney(n int, status models.MoneyStatus) {
	l.t.Helper()
	k := models.RefundKey(l.ticket, n)
	l.waitFor(k+" "+string(status), func(tk models.Ticket) bool {
		i := tk.Refunds.Find(k)
		if i < 0 {
			return false
		}
		_, below := models.NextMoneyStatus(tk.Refunds[i].Status, status)
		return !below
	})
}

// finish waits for the end with outcome, evaluates (which ends the workflow once
// no money is in flight) and saves the history.
func (l *live) finish(file string, outcome models.Outcome) models.Ticket {
	l.t.Helper()
	tk := l.waitFor("the end", func(tk models.Ticket) bool { return tk.State.Terminal() })
	if tk.Outcome != outcome {
		l.t.Errorf("%s ended %s/%s, want outcome %s (timeline %v)", l.ticket, tk.State, tk.Outcome, outcome, actionsOf(tk))
	}
	l.act(buyer(models.ActEvaluate, models.ActionBody{Score: 5, Comment: "fine"}))
	l.waitWorkflow(l.id())
	l.save(l.id(), file)
	return tk
}

// saveEscalation saves the history of the ticket's n-th escalation.
func (l *live) saveEscalation(n int, file string) {
	l.t.Helper()
	id := fmt.Sprintf("%s-escalation-%d", l.id(), n)
	l.waitWorkflow(id)
	l.save(id, file)
}

func (l *live) waitWorkflow(id string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.ctx, l.patience)
	defer cancel()
	if err := l.c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		l.t.Fatalf("workflow %s: %v", id, err)
	}
}

// startWatch starts the delayed-shipment watch of an order paid 1000 CNY at
// paidAt: named by its shop (byShop, as the API starts watches now) or, as
// before orders were keyed by shop, by its order alone.
func (l *live) startWatch(orderID string, paidAt time.Time, byShop bool) string {
	l.t.Helper()
	p := models.DefaultPolicy()
	in := ShippingWatchInput{OrderID: orderID, ShopID: shopID, BuyerID: buyerID, PaidCents: 100_000, Currency: "CNY",
		PaidAt: paidAt, ShipDeadline: p.ShipDeadline, Rule: p.ShippingCompensation, NamedByShop: byShop}
	id := in.WorkflowID()
	if _, err := l.c.ExecuteWorkflow(l.ctx, client.StartWorkflowOptions{ID: id, TaskQueue: TaskQueue}, "ShippingWatchWorkflow", in); err != nil {
		l.t.Fatalf("start %s: %v", id, err)
	}
	return id
}

// save writes the workflow's full history as JSON, the format of
// `temporal workflow show --output json` that the replayer reads, with its line
// in testdata/histories.sum (keepHistory, which refuses to change a history
// recorded under today's change ids).
func (l *live) save(id, file string) {
	l.t.Helper()
	it := l.c.GetWorkflowHistory(l.ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			l.t.Fatalf("history of %s: %v", id, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.saved[file] = len(hist.Events)
	l.mu.Unlock()
	if err := l.keepHistory(file, append(b, '\n')); err != nil {
		l.t.Error(err)
		l.mu.Lock()
		l.refused = true
		l.mu.Unlock()
		return
	}
	l.t.Logf("recorded %s: %d events", file, len(hist.Events))
}
