package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

const system = "system"

// afterApproval starts what the kind and return method call for once the request is
// approved (by the seller, by fast review, by the review timeout or by the platform).
func (w *ticketWorkflow) afterApproval(ctx workflow.Context, who string, role models.Role, rid string) {
	switch {
	case w.t.Kind == models.KindRefundOnly:
		w.startRefund(ctx, w.t.RequestedCents, models.OutcomeRefunded, who, role, rid)
	case w.t.Kind == models.KindPriceProtection:
		w.startRefund(ctx, w.t.RequestedCents, models.OutcomePriceProtected, who, role, rid)
	case w.t.ReturnMethod == models.ReturnPickup || w.t.ReturnMethod == models.ReturnSwapOnDelivery:
		w.transition(ctx, models.StateAwaitingPickup, who, role, "book_"+w.visitName(), "", rid)
		w.bookVisit(ctx)
	default:
		w.transition(ctx, models.StateAwaitingBuyerShipment, who, role, "await_shipment", "", rid)
	}
}

func (w *ticketWorkflow) visitName() string {
	if w.t.ReturnMethod == models.ReturnSwapOnDelivery {
		return "swap_visit"
	}
	return "pickup"
}

// bookVisit books the next courier visit (pickup or swap) for the current attempt.
func (w *ticketWorkflow) bookVisit(ctx workflow.Context) {
	w.t.Logistics.PickupAttempts++
	req := activities.PickupRequest{TicketID: w.t.ID, Address: w.t.PickupAddress,
		Attempt: w.t.Logistics.PickupAttempts, Items: w.t.Items, ExchangeSKU: w.t.ExchangeSKU}
	book := acts.BookPickup
	if w.t.ReturnMethod == models.ReturnSwapOnDelivery {
		book = acts.BookSwapVisit
	}
	var b activities.Booking
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	if err := workflow.ExecuteActivity(actx, book, req).Get(actx, &b); err != nil {
		w.note(ctx, system, models.RoleSystem, "booking_failed", err.Error(), "")
		return
	}
	w.t.Logistics.PickupBooking = b.BookingID
	if b.TrackingNo != "" {
		w.t.Logistics.TrackingNo = b.TrackingNo
	}
	w.note(ctx, system, models.RoleSystem, w.visitName()+"_booked",
		fmt.Sprintf("attempt %d, booking %s", w.t.Logistics.PickupAttempts, b.BookingID), "")
}

// visitFailed re-books the visit until pickup_attempts is used up, then falls back to
// the buyer shipping the goods.
func (w *ticketWorkflow) visitFailed(ctx workflow.Context, why string) {
	if w.t.Logistics.PickupAttempts < w.p.PickupAttempts {
		w.transition(ctx, models.StateAwaitingPickup, system, models.RoleSystem, "rebook_"+w.visitName(), why, "")
		w.bookVisit(ctx)
		return
	}
	w.cancelPickup(ctx)
	w.t.ReturnMethod = models.ReturnSelfShip
	w.transition(ctx, models.StateAwaitingBuyerShipment, system, models.RoleSystem, "fallback_self_ship",
		fmt.Sprintf("%s; %d attempts used", why, w.t.Logistics.PickupAttempts), "")
}

func (w *ticketWorkflow) cancelPickup(ctx workflow.Context) {
	if w.t.State != models.StateAwaitingPickup || w.t.Logistics.PickupBooking == "" {
		return
	}
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	booking := activities.Booking{BookingID: w.t.Logistics.PickupBooking}
	if err := workflow.ExecuteActivity(actx, acts.CancelPickup, booking, w.t.ID).Get(actx, nil); err != nil {
		w.note(ctx, system, models.RoleSystem, "cancel_pickup_failed", err.Error(), "")
	}
}

// pickedUp: the goods are with the courier; eligible returns are refunded now.
func (w *ticketWorkflow) pickedUp(ctx workflow.Context, note string) {
	w.transition(ctx, models.StateInTransit, system, models.RoleSystem, models.CourierPickedUp, note, "")
	w.lightningRefund(ctx)
}

// buyerShipped records the buyer's tracking number and verifies it with the carrier.
func (w *ticketWorkflow) buyerShipped(ctx workflow.Context, req models.ActionRequest) {
	w.t.Logistics.Carrier, w.t.Logistics.TrackingNo = req.Body.Carrier, req.Body.TrackingNo
	w.transition(ctx, models.StateInTransit, req.Actor, req.Role, req.Action,
		req.Body.Carrier+" "+req.Body.TrackingNo, req.RequestID)
	var verified bool
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	if err := workflow.ExecuteActivity(actx, acts.VerifyTracking, req.Body.Carrier, req.Body.TrackingNo).Get(actx, &verified); err != nil || !verified {
		w.note(ctx, system, models.RoleSystem, "tracking_unverified", "the carrier does not know this tracking number yet", "")
		return
	}
	w.note(ctx, system, models.RoleSystem, "tracking_verified", req.Body.TrackingNo, "")
	w.lightningRefund(ctx)
}

// goodsArrived: the return reached the seller (courier delivered or seller confirmed).
func (w *ticketWorkflow) goodsArrived(ctx workflow.Context, who string, role models.Role, action, rid string) {
	switch {
	case w.t.Kind == models.KindRepair:
		w.transition(ctx, models.StateRepairing, who, role, action, "", rid)
		var b activities.Booking
		actx := workflow.WithActivityOptions(ctx, providerOptions)
		req := activities.ShipmentRequest{TicketID: w.t.ID, Items: w.t.Items, Address: w.t.PickupAddress}
		if err := workflow.ExecuteActivity(actx, acts.SendToRepair, req).Get(actx, &b); err == nil {
			w.t.Logistics.RepairOrder = b.BookingID
			w.note(ctx, system, models.RoleSystem, "repair_order", b.BookingID, "")
		}
	case w.t.Flags.LightningRefund:
		// Paid at pickup: the arrival settles the ticket, no inspection.
		if w.refundsSettled() {
			w.complete(ctx, models.OutcomeRefunded, who, role, action, "lightning refund already paid", rid)
		} else {
			w.pendingOutcome = models.OutcomeRefunded
			w.transition(ctx, models.StateRefunding, who, role, action, "lightning refund in flight", rid)
		}
	default:
		w.transition(ctx, models.StateAwaitingInspection, who, role, action, "", rid)
	}
}

// inspect applies the seller's inspection verdict.
func (w *ticketWorkflow) inspect(ctx workflow.Context, req models.ActionRequest) {
	b := req.Body
	w.t.Inspection = &models.Inspection{Result: b.Result, DeductPercent: b.DeductPercent, Note: b.Note}
	switch b.Result {
	case models.InspectFail:
		w.transition(ctx, models.StateRejected, req.Actor, req.Role, req.Action, "inspection failed: "+b.Note, req.RequestID)
	case models.InspectDeduct:
		amount, _ := models.RefundAfterInspection(w.t, w.p, b.DeductPercent)
		w.note(ctx, req.Actor, req.Role, req.Action, fmt.Sprintf("deduct %d%%: %s", b.DeductPercent, b.Note), req.RequestID)
		w.startRefund(ctx, amount, models.OutcomePartiallyRefunded, req.Actor, req.Role, req.RequestID)
	default:
		w.inspectionPassed(ctx, req.Actor, req.Role, req.Action, b.Note, req.RequestID)
	}
}

// inspectionPassed refunds in full, or ships the replacement for an exchange.
func (w *ticketWorkflow) inspectionPassed(ctx workflow.Context, who string, role models.Role, action, note, rid string) {
	w.t.Inspection = &models.Inspection{Result: models.InspectPass, Note: note}
	if w.t.Kind == models.KindExchange {
		w.shipReplacement(ctx, who, role, action, rid)
		return
	}
	w.note(ctx, who, role, action, note, rid)
	w.startRefund(ctx, w.t.RequestedCents, models.OutcomeRefunded, who, role, rid)
}

func (w *ticketWorkflow) shipReplacement(ctx workflow.Context, who string, role models.Role, action, rid string) {
	w.transition(ctx, models.StateReplacementShipping, who, role, action, "replacement "+w.t.ExchangeSKU, rid)
	var b activities.Booking
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	req := activities.ShipmentRequest{TicketID: w.t.ID, SKU: w.t.ExchangeSKU, Address: w.t.PickupAddress}
	if err := workflow.ExecuteActivity(actx, acts.ShipReplacement, req).Get(actx, &b); err == nil {
		w.t.Logistics.ReplacementNo = b.TrackingNo
		w.note(ctx, system, models.RoleSystem, "replacement_shipped", b.TrackingNo, "")
	}
}

func (w *ticketWorkflow) replacementOutcome() models.Outcome {
	if w.t.Kind == models.KindRepair {
		return models.OutcomeRepaired
	}
	return models.OutcomeExchanged
}

// complete ends the ticket successfully; a completed return with freight insurance
// claims the buyer's one-way freight.
func (w *ticketWorkflow) complete(ctx workflow.Context, o models.Outcome, who string, role models.Role, action, note, rid string) {
	w.t.Outcome = o
	w.transition(ctx, models.StateCompleted, who, role, action, note, rid)
	if w.t.Order.FreightInsurance && w.t.Kind.NeedsReturn() && w.t.ReturnShippingPayer == "buyer" &&
		w.t.ReturnMethod != models.ReturnSwapOnDelivery && w.p.FreightClaimCents > 0 {
		w.sendMoney(ctx, activities.PurposeFreightInsurance, w.p.FreightClaimCents)
	}
}

// close ends the ticket without success.
func (w *ticketWorkflow) close(ctx workflow.Context, o models.Outcome, who string, role models.Role, action, note, rid string) {
	w.t.Outcome = o
	w.transition(ctx, models.StateClosed, who, role, action, note, rid)
}

// onDeadline applies the timeout rule of the state's row in DESIGN.md §2.
func (w *ticketWorkflow) onDeadline(ctx workflow.Context, name string) {
	if w.t.State != models.StateEscalated {
		w.t.Flags.AutoActed = true
	}
	timeout := name + " passed"
	switch w.t.State {
	case models.StatePendingReview:
		w.note(ctx, system, models.RoleSystem, "auto_approve", timeout, "")
		w.afterApproval(ctx, system, models.RoleSystem, "")
	case models.StateNegotiating, models.StateAwaitingBuyerShipment:
		w.close(ctx, models.OutcomeExpired, system, models.RoleSystem, "expire", timeout, "")
	case models.StateRejected:
		w.close(ctx, models.OutcomeRejected, system, models.RoleSystem, "expire", timeout, "")
	case models.StateAwaitingPickup:
		w.visitFailed(ctx, timeout)
	case models.StateInTransit:
		if w.lightningPaid() {
			w.startRecovery(ctx, timeout)
		} else {
			w.escalate(ctx, system, models.RoleSystem, "return parcel not delivered: "+timeout, "")
		}
	case models.StateAwaitingInspection:
		w.inspectionPassed(ctx, system, models.RoleSystem, "auto_pass", timeout, "")
	case models.StateRefunding:
		w.forceRefund(ctx, timeout)
	case models.StateReplacementShipping:
		w.complete(ctx, w.replacementOutcome(), system, models.RoleSystem, "auto_confirm", timeout, "")
	case models.StateRepairing:
		w.escalate(ctx, system, models.RoleSystem, "repair not finished: "+timeout, "")
	case models.StateEscalated:
		w.escalationDeadline(ctx, name)
	case models.StateRecovering:
		w.t.Flags.WrittenOff = true
		w.escalate(ctx, system, models.RoleSystem, "lightning refund written off: "+timeout, "")
	}
}
