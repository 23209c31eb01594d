package workflows

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// toInspection brings a self-shipped return to awaiting_inspection at 3 h.
var toInspection = []step{
	at(time.Hour, approve),
	at(2*time.Hour, shipSF),
	at(3*time.Hour, courier(models.CourierDelivered)),
}

func inspect(result string, pct int) actionOp {
	return seller("inspect", models.ActionBody{Result: result, DeductPercent: pct, Note: "checked"})
}

// awaiting_inspection: pass (full refund), deduct (restocking fee, buyer at fault,
// at most 50 %), fail (rejected), and inspect_by (10 d) → auto-pass, full refund.
func TestAwaitingInspection(t *testing.T) {
	cases := []struct {
		name     string
		reason   models.ReasonCode
		steps    []step
		refunded int64
		end      models.State
		out      models.Outcome
	}{
		{
			name:   "pass refunds in full",
			reason: models.ReasonQuality,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectPass, 0)),
				at(5*time.Hour, inState(models.StateRefunding)),
				at(6*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 100_000, end: models.StateCompleted, out: models.OutcomeRefunded,
		},
		{
			name:   "deduct 20% when the buyer is at fault",
			reason: models.ReasonNoReason,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectDeduct, 20)),
				at(6*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 80_000, end: models.StateCompleted, out: models.OutcomePartiallyRefunded,
		},
		{
			name:   "deduct at most 50%",
			reason: models.ReasonOther,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectDeduct, 51).refused(models.EINVALID)),
				at(4*time.Hour+time.Minute, inspect(models.InspectDeduct, 0).refused(models.EINVALID)),
				at(4*time.Hour+2*time.Minute, inspect("maybe", 0).refused(models.EINVALID)),
				at(5*time.Hour, inspect(models.InspectDeduct, 50)),
				at(6*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 50_000, end: models.StateCompleted, out: models.OutcomePartiallyRefunded,
		},
	}
	for _, reason := range []models.ReasonCode{models.ReasonQuality, models.ReasonDamaged, models.ReasonWrongItem,
		models.ReasonNotAsDescribed, models.ReasonNotReceived} {
		cases = append(cases, struct {
			name     string
			reason   models.ReasonCode
			steps    []step
			refunded int64
			end      models.State
			out      models.Outcome
		}{
			name:   "no deduction for seller fault " + string(reason),
			reason: reason,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectDeduct, 10).refused(models.EINVALID)),
				at(5*time.Hour, inState(models.StateAwaitingInspection)),
				at(6*time.Hour, inspect(models.InspectPass, 0)),
				at(7*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 100_000, end: models.StateCompleted, out: models.OutcomeRefunded,
		})
	}
	cases = append(cases, []struct {
		name     string
		reason   models.ReasonCode
		steps    []step
		refunded int64
		end      models.State
		out      models.Outcome
	}{
		{
			name:   "fail: rejected, the buyer may escalate",
			reason: models.ReasonQuality,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectFail, 0)),
				at(5*time.Hour, inState(models.StateRejected), check(func(t *testing.T, tk models.Ticket) {
					eq(t, "inspection", tk.Inspection.Result, models.InspectFail)
				})),
				at(6*time.Hour, buyer("escalate", models.ActionBody{Reason: "it is broken, photos attached"})),
				at(7*time.Hour, buyer("evidence", models.ActionBody{Note: "photos", URLs: []string{"https://img/1"}})),
				at(8*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(100_000)})),
				at(9*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 100_000, end: models.StateCompleted, out: models.OutcomeRefunded,
		},
		{
			name:   "fail and no appeal: closed rejected",
			reason: models.ReasonNoReason,
			steps: []step{
				at(4*time.Hour, inspect(models.InspectFail, 0)),
				at(4*time.Hour+7*day+sec, inState(models.StateClosed, models.OutcomeRejected)),
			},
			refunded: 0, end: models.StateClosed, out: models.OutcomeRejected,
		},
		{
			name:   "inspect_by passes: auto-pass, full refund",
			reason: models.ReasonNoReason,
			steps: []step{
				at(3*time.Hour+10*day-sec, inState(models.StateAwaitingInspection)),
				at(3*time.Hour+10*day+sec, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
					eq(t, "auto_acted", tk.Flags.AutoActed, true)
					eq(t, "inspection", tk.Inspection.Result, models.InspectPass)
					wantTimeline(t, tk, "delivered", "auto_pass", "refund")
				})),
				at(11*day, payment(key(1), models.RefundSucceeded)),
			},
			refunded: 100_000, end: models.StateCompleted, out: models.OutcomeRefunded,
		},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, reason(c.reason)))
			tk := h.run(append(append([]step{}, toInspection...), c.steps...)...)
			wantEnd(t, tk, c.end, c.out)
			eq(t, "refunded_cents", tk.RefundedCents, c.refunded)
			if c.refunded > 0 {
				wantRefunds(t, tk, refundLine(1, "refund", c.refunded, "succeeded"))
				wantOneCallPerKey(t, h.f, key(1))
			}
		})
	}
	t.Run("inspect_by passes for an exchange: the replacement ships", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip))
		tk := h.run(append(append([]step{}, toInspection...),
			at(3*time.Hour+10*day+sec, inState(models.StateReplacementShipping)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		eq(t, "replacements", h.f.courier.counts().shipped, 1)
		eq(t, "money movements", len(tk.Refunds), 0)
	})
}

// refunding: succeeded → completed; failed → sent again under a new key up to
// refund_attempts, then escalated; refund_by → seller breach and reconciliation by
// key, never a second payment of one key.
func TestRefunding(t *testing.T) {
	toRefunding := []step{at(time.Hour, approve), at(2*time.Hour, inState(models.StateRefunding), deadlineAt("refund_by", 49*time.Hour))}
	refundOnly := func() models.CreateTicket { return newCreate(models.KindRefundOnly, models.ReturnNone) }

	t.Run("failed, retried under a new key, then paid", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundFailed)),
			at(4*time.Hour, inState(models.StateRefunding)),
			at(5*time.Hour, payment(key(2), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 100_000)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "void"), refundLine(2, "refund", 100_000, "succeeded"))
		wantOneCallPerKey(t, h.f, key(1), key(2))
		eq(t, "ledger reserves", h.f.ledger.reserved(orderID), 100_000)
	})
	t.Run("a late success after the end is charged back, and a lost answer is looked up", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundFailed)),
			at(5*time.Hour, payment(key(2), models.RefundSucceeded)),
			at(6*time.Hour, inState(models.StateCompleted, models.OutcomeRefunded)),
			// The voided key pays after all: the excess is charged back (key 3),
			// and the provider's answer to that charge never comes as a webhook.
			at(7*time.Hour, payment(key(1), models.RefundSucceeded)),
			at(8*time.Hour, opFunc(func(h *harness) { h.f.pay.settle(key(3), models.RefundSucceeded) })),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"), refundLine(2, "refund", 100_000, "succeeded"),
			refundLine(3, "overpayment", 100_000, "succeeded"))
		eq(t, "refunded", tk.RefundedCents, 100_000)
		if h.f.pay.lookupsFor(key(3)) == 0 {
			t.Errorf("the charge back's lost answer was never looked up")
		}
	})
	t.Run("an overpayment after the end that cannot be charged back: the platform is told", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		h.overpaidBy = 100_000 // the provider paid key 1 after all, and nothing charged it back
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundFailed)),
			at(5*time.Hour, payment(key(2), models.RefundSucceeded)),
			at(6*time.Hour, inState(models.StateCompleted, models.OutcomeRefunded)),
			at(7*time.Hour, payment(key(1), models.RefundSucceeded)), // overpaid: charged back under key 3
			at(8*time.Hour, payment(key(3), models.RefundFailed)),
			at(9*time.Hour, payment(key(4), models.RefundFailed)),
			at(10*time.Hour, payment(key(5), models.RefundFailed)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		notes := h.f.notes.all()
		if len(notes) != 1 || notes[0].To != string(models.RolePlatform) || notes[0].TicketID != tk.ID ||
			!strings.Contains(notes[0].Message, "overpaid by 100000 cents") {
			t.Fatalf("notices %+v, want one to the platform naming the overpayment", notes)
		}
	})
	t.Run("failed refund_attempts times: escalated", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundFailed)),
			at(4*time.Hour, payment(key(2), models.RefundFailed)),
			at(5*time.Hour, inState(models.StateRefunding)),
			at(6*time.Hour, payment(key(3), models.RefundFailed)),
			at(7*time.Hour, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "refunds", len(tk.Refunds), 3)
				eq(t, "escalation from", tk.Escalation.From, models.StateRefunding)
				eq(t, "escalated by", tk.Escalation.By, models.RoleSystem)
				eq(t, "claim", tk.RequestedCents-tk.RefundedCents, 100_000)
			})),
			// Nothing moved: the buyer may still withdraw; the platform pays instead.
			at(8*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(100_000)})),
			at(9*time.Hour, payment(key(4), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk,
			refundLine(1, "refund", 100_000, "void"), refundLine(2, "refund", 100_000, "void"),
			refundLine(3, "refund", 100_000, "void"), refundLine(4, "refund", 100_000, "succeeded"))
		wantOneCallPerKey(t, h.f, key(1), key(2), key(3), key(4))
	})
	t.Run("escalate is refused while the refund is in flight", func(t *testing.T) {
		newHarness(t, refundOnly()).run(append(toRefunding,
			at(3*time.Hour, buyer("escalate", models.ActionBody{Reason: "slow"}).refused(models.ECONFLICT)),
			at(4*time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
	})
	t.Run("refund_by passes: seller breach, reconciled by key, not paid twice", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(49*time.Hour-sec, check(func(t *testing.T, tk models.Ticket) { eq(t, "breach", tk.Flags.SellerBreach, false) })),
			at(49*time.Hour+sec, inState(models.StateRefunding), deadlineAt("refund_by", 97*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "seller_breach", tk.Flags.SellerBreach, true)
					eq(t, "auto_acted", tk.Flags.AutoActed, true)
					eq(t, "refunds", len(tk.Refunds), 1)
					wantTimeline(t, tk, "refund", "force_refund")
				})),
			at(50*time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"))
		wantOneCallPerKey(t, h.f, key(1))
		if h.f.pay.lookupsFor(key(1)) == 0 {
			t.Errorf("refund_by did not look the refund up at the provider")
		}
	})
	t.Run("refund_by passes after the provider paid but the webhook was lost", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(3*time.Hour, opFunc(func(h *harness) { h.f.pay.settle(key(1), models.RefundSucceeded) })),
			at(49*time.Hour+sec, inState(models.StateCompleted, models.OutcomeRefunded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "seller_breach", tk.Flags.SellerBreach, true)
		eq(t, "refunded", tk.RefundedCents, 100_000)
		wantOneCallPerKey(t, h.f, key(1))
	})
	t.Run("refund_by passes twice: escalated", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		tk := h.run(append(toRefunding,
			at(97*time.Hour+sec, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "seller_breach", tk.Flags.SellerBreach, true)
			})),
			// Paid during the escalation: the ticket ends, and with it the escalation,
			// so the platform has nothing left to decide.
			at(98*time.Hour, payment(key(1), models.RefundSucceeded)),
			at(99*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(0)}).refused(models.ECONFLICT)),
		)...)
		if !hasAction(tk, "escalation_resolved") {
			t.Errorf("timeline %v lacks escalation_resolved", actionsOf(tk))
		}
		wantOneCallPerKey(t, h.f, key(1))
		eq(t, "refunded", tk.RefundedCents, 100_000)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	})
	t.Run("duplicate and stale payment webhooks are applied once", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, lightning(), credit(1), asking(30_000)))
		tk := h.run(append(append([]step{}, toInspection...),
			at(4*time.Hour, inspect(models.InspectDeduct, 10)),
			at(5*time.Hour, paymentEv("pay-1", key(1), models.RefundFailed)),
			at(6*time.Hour, paymentEv("pay-1", key(1), models.RefundFailed)),     // same event again
			at(7*time.Hour, paymentEv("pay-2", key(1), models.RefundFailed)),     // same news, new id
			at(8*time.Hour, paymentEv("pay-3", key(99), models.RefundSucceeded)), // unknown key
			at(9*time.Hour, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "refunds", len(tk.Refunds), 2)
			})),
			at(10*time.Hour, paymentEv("pay-4", key(2), models.RefundSucceeded)),
			at(11*time.Hour, paymentEv("pay-4", key(2), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomePartiallyRefunded)
		eq(t, "refunded", tk.RefundedCents, 27_000)
		wantRefunds(t, tk, refundLine(1, "refund", 27_000, "void"), refundLine(2, "refund", 27_000, "succeeded"))
		n := 0
		for _, e := range tk.Timeline {
			if e.Action == "refund_failed" || e.Action == "refund_succeeded" {
				n++
			}
		}
		eq(t, "payment results applied", n, 2)
		wantOneCallPerKey(t, h.f, key(1), key(2))
	})
	t.Run("the provider's answer is lost: the retry looks the key up, pays once", func(t *testing.T) {
		h := newHarness(t, refundOnly())
		h.f.pay.loseAnswers(1)
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"))
		wantOneCallPerKey(t, h.f, key(1))
		if h.f.pay.lookupsFor(key(1)) == 0 {
			t.Errorf("the retried attempt did not look the key up")
		}
		eq(t, "ledger reservations of the key", h.f.ledger.reserveCalls(key(1)), 2)
	})
	t.Run("an earlier attempt reserved the key and reached the provider: the next looks it up, pays once", func(t *testing.T) {
		// A worker that died during the local attempt, after the provider took the
		// key: the attempt that runs again finds the reservation and asks first.
		h := newHarness(t, refundOnly())
		ctx := context.Background()
		req := activities.MoneyRequest{Key: key(1), Purpose: models.PurposeRefund, TicketID: tid, OrderID: orderID,
			AmountCents: 100_000, Currency: "CNY", PaidCents: 100_000}
		if _, err := h.f.ledger.ReserveRefund(ctx, store.RefundReservation{Key: req.Key, TicketID: tid, OrderID: orderID,
			AmountCents: req.AmountCents, Currency: req.Currency, Purpose: req.Purpose, PaidCents: req.PaidCents}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.f.pay.Refund(ctx, req); err != nil {
			t.Fatal(err)
		}
		tk := h.run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantOneCallPerKey(t, h.f, key(1))
		if h.f.pay.lookupsFor(key(1)) == 0 {
			t.Errorf("the attempt that found the reservation did not look the key up")
		}
	})
	t.Run("a payment report the ticket refuses does not cut the lookups' pacing short", func(t *testing.T) {
		// The provider reports the key failed, but asked by key it still has it in
		// progress: the ticket asks again, each pause twice the one before. The
		// same report delivered again (the webhook's retries) is refused as a
		// repeat; it must not start the paused lookup at once. Measured against
		// the same run without the repeats.
		lookups := func(repeats int) int {
			h := newHarness(t, refundOnly())
			failed := opFunc(func(h *harness) {
				h.env.SignalWorkflow(SignalPayment, models.PaymentEvent{EventID: "pay-1", TicketID: tid,
					RefundKey: key(1), Status: models.RefundFailed, Reason: "declined"})
			})
			steps := append(append([]step{}, toRefunding...), at(3*time.Hour, failed))
			for i := range repeats {
				steps = append(steps, at(3*time.Hour+time.Duration(i+1)*7*time.Minute, failed))
			}
			steps = append(steps, at(5*time.Hour, paymentEv("pay-2", key(1), models.RefundSucceeded)))
			tk := h.run(steps...)
			wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
			return h.f.pay.lookupsFor(key(1))
		}
		paced, repeated := lookups(0), lookups(12)
		if repeated != paced {
			t.Fatalf("%d lookups with the repeated report, %d without: a refused report cut the pacing short", repeated, paced)
		}
		// Two hours of pauses from a minute, doubling: 1+2+4+8+16+32+64 minutes.
		if paced < 3 || paced > 10 {
			t.Fatalf("%d lookups in two hours of a provider that keeps the key in progress; paced from a minute, doubling, it is about 8", paced)
		}
	})
	t.Run("a failure reported after success changes nothing", func(t *testing.T) {
		tk := newHarness(t, refundOnly()).run(append(toRefunding,
			at(3*time.Hour, payment(key(1), models.RefundSucceeded)),
			at(4*time.Hour, opFunc(func(h *harness) {
				h.env.SignalWorkflow(SignalPayment, models.PaymentEvent{EventID: "late", TicketID: tid,
					RefundKey: key(1), Status: models.RefundFailed, Reason: "late"})
			})),
		)...)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"))
		eq(t, "refunded", tk.RefundedCents, 100_000)
	})
}

// Lightning refund (闪电退款): paid at picked_up or at verified tracking, before the
// goods arrive; the arrival then settles the ticket without inspection.
func TestLightningRefund(t *testing.T) {
	t.Run("paid at picked_up", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()))
		tk := h.run(
			at(time.Hour, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, false)
				eq(t, "refunds", len(tk.Refunds), 0)
			})),
			at(2*time.Hour, courier(models.CourierPickedUp)),
			at(3*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, true)
				wantRefunds(t, tk, refundLine(1, "refund", 30_000, "sent"))
			})),
			at(4*time.Hour, buyer("cancel").refused(models.ECONFLICT)), // money moved
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
			at(6*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "refunded", tk.RefundedCents, 30_000)
			})),
			at(3*day, courier(models.CourierDelivered)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		if tk.Inspection != nil {
			t.Errorf("inspection %+v after a lightning refund", tk.Inspection)
		}
		wantTimeline(t, tk, "picked_up", "lightning_refund", "refund_sent", "refund_succeeded", "delivered")
		wantOneCallPerKey(t, h.f, key(1))
		eq(t, "refunded", tk.RefundedCents, 30_000)
	})
	t.Run("paid at verified tracking", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, lightning()))
		tk := h.run(
			at(time.Hour, inState(models.StateAwaitingBuyerShipment)),
			at(2*time.Hour, shipSF),
			at(3*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, true)
				wantTimeline(t, tk, "ship", "tracking_verified", "lightning_refund")
			})),
			at(4*time.Hour, courier(models.CourierDelivered)), // before the payment result
			at(5*time.Hour, inState(models.StateRefunding)),
			at(6*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantOneCallPerKey(t, h.f, key(1))
	})
	t.Run("not when the carrier does not know the tracking number", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, lightning()))
		h.f.courier.setVerify(false)
		tk := h.run(
			at(2*time.Hour, shipSF),
			at(3*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, false)
				eq(t, "refunds", len(tk.Refunds), 0)
				wantTimeline(t, tk, "ship", "tracking_unverified")
			})),
			at(4*time.Hour, courier(models.CourierDelivered)),
			at(5*time.Hour, inState(models.StateAwaitingInspection)),
			at(6*time.Hour, passed),
			at(7*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	})
	notEligible := []struct {
		name string
		c    models.CreateTicket
		opts []harnessOpt
	}{
		{"buyer flagged", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), []harnessOpt{buyerFlagged()}},
		{"low credit", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning(), credit(1)), nil},
		{"paid over 3000 CNY", newCreate(models.KindReturnRefund, models.ReturnPickup, credit(5), paid(300_001), asking(300_001)), nil},
		{"exchange", newCreate(models.KindExchange, models.ReturnPickup, lightning()), nil},
		{"repair", newCreate(models.KindRepair, models.ReturnPickup, lightning()), nil},
	}
	for _, c := range notEligible {
		t.Run("not for "+c.name, func(t *testing.T) {
			h := newHarness(t, c.c, c.opts...)
			h.run(
				at(time.Hour, opFunc(func(h *harness) {
					if h.ticket().State == models.StatePendingReview {
						approve.apply(h)
					}
				})),
				at(2*time.Hour, courier(models.CourierPickedUp)),
				at(3*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
					eq(t, "lightning", tk.Flags.LightningRefund, false)
					eq(t, "refunds", len(tk.Refunds), 0)
				})),
				at(4*time.Hour, buyer("cancel")),
			)
		})
	}
	t.Run("a failed lightning refund leaves the decision to the inspection", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()))
		tk := h.run(
			at(2*time.Hour, courier(models.CourierPickedUp)),
			at(3*time.Hour, payment(key(1), models.RefundFailed)),
			at(4*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, false)
			})),
			at(5*time.Hour, courier(models.CourierDelivered)),
			at(6*time.Hour, inState(models.StateAwaitingInspection)),
			at(7*time.Hour, passed),
			at(8*time.Hour, payment(key(2), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 30_000)
		wantOneCallPerKey(t, h.f, key(1), key(2))
	})
}

// recovering (闪电催收): the lightning refund was paid but the goods never arrived.
func TestRecovering(t *testing.T) {
	toRecovering := []step{
		at(2*time.Hour, courier(models.CourierPickedUp)),
		at(3*time.Hour, payment(key(1), models.RefundSucceeded)),
		at(2*time.Hour+15*day-sec, inState(models.StateInTransit)),
		at(2*time.Hour+15*day+sec, inState(models.StateRecovering), deadlineAt("recover_by", 2*time.Hour+22*day),
			check(func(t *testing.T, tk models.Ticket) {
				eq(t, "auto_acted", tk.Flags.AutoActed, true)
				wantRefunds(t, tk, refundLine(1, "refund", 30_000, "succeeded"), refundLine(2, "recovery", 30_000, "sent"))
			})),
	}
	lightningPickup := func() models.CreateTicket {
		return newCreate(models.KindReturnRefund, models.ReturnPickup, lightning())
	}
	t.Run("recovery charge succeeds: closed recovered", func(t *testing.T) {
		h := newHarness(t, lightningPickup())
		tk := h.run(append(toRecovering,
			at(16*day, payment(key(2), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateClosed, models.OutcomeRecovered)
		if m := h.f.pay.methodsFor(key(2)); len(m) != 1 || m[0] != "recovery" {
			t.Errorf("recovery paid through %v, want one ChargeRecovery", m)
		}
		wantOneCallPerKey(t, h.f, key(1), key(2))
	})
	t.Run("goods delivered during recovery: completed refunded", func(t *testing.T) {
		tk := newHarness(t, lightningPickup()).run(append(toRecovering,
			at(16*day, courier(models.CourierDelivered)),
			// The charge the buyer was never asked to pay: failed, and the ticket ends.
			at(16*day+time.Hour, payment(key(2), models.RefundFailed)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 30_000)
	})
	t.Run("recovery charge settles after the goods arrived: paid back", func(t *testing.T) {
		h := newHarness(t, lightningPickup())
		tk := h.run(append(toRecovering,
			at(16*day, courier(models.CourierDelivered)),
			at(16*day+time.Hour, payment(key(2), models.RefundSucceeded)),
			at(16*day+2*time.Hour, payment(key(3), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk, refundLine(1, "refund", 30_000, "succeeded"), refundLine(2, "recovery", 30_000, "succeeded"),
			refundLine(3, "recovery_return", 30_000, "succeeded"))
		eq(t, "refunded", tk.RefundedCents, 30_000)
		wantOneCallPerKey(t, h.f, key(1), key(2), key(3))
	})
	t.Run("arrive_by with the lightning refund not yet paid: recovering waits for it; void, escalated, nobody charged", func(t *testing.T) {
		// DESIGN §2: a lightning refund confirmed after arrive_by is recovered like
		// one confirmed before it, so recovering waits for its answer; a refund the
		// provider will not pay is not charged back, and the missing parcel goes to
		// the platform.
		h := newHarness(t, lightningPickup())
		tk := h.run(
			at(2*time.Hour, courier(models.CourierPickedUp)),
			at(3*time.Hour, inState(models.StateInTransit), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, true)
			})),
			at(2*time.Hour+15*day+sec, inState(models.StateRecovering), check(func(t *testing.T, tk models.Ticket) {
				wantRefunds(t, tk, refundLine(1, "refund", 30_000, "sent"))
			})),
			at(2*time.Hour+15*day+time.Hour, payment(key(1), models.RefundFailed)),
			at(2*time.Hour+16*day, inState(models.StateEscalated)),
		)
		for _, r := range tk.Refunds {
			if r.Purpose == "recovery" {
				t.Errorf("the buyer was charged back %d cents never received: %+v", r.AmountCents, tk.Refunds)
			}
		}
		eq(t, "refunded", tk.RefundedCents, 0)
	})
	t.Run("recover_by passes: written off and escalated", func(t *testing.T) {
		tk := newHarness(t, lightningPickup()).run(append(toRecovering,
			at(2*time.Hour+22*day-sec, inState(models.StateRecovering)),
			at(2*time.Hour+22*day+sec, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "written_off", tk.Flags.WrittenOff, true)
				eq(t, "escalated", tk.Flags.Escalated, true)
				eq(t, "escalation from", tk.Escalation.From, models.StateRecovering)
			})),
			// The ticket ends only once the charge it started has an answer.
			at(2*time.Hour+22*day+time.Hour, payment(key(2), models.RefundFailed)),
		)...)
		eq(t, "written_off", tk.Flags.WrittenOff, true)
		if !tk.State.Terminal() {
			t.Errorf("ended in %s", tk.State)
		}
	})
}

// Every kind on its happy path.
func TestKinds(t *testing.T) {
	cases := []struct {
		kind     models.Kind
		method   models.ReturnMethod
		steps    []step
		out      models.Outcome
		refunded int64
	}{
		{models.KindRefundOnly, models.ReturnNone, []step{
			at(time.Hour, approve), at(2*time.Hour, payment(key(1), models.RefundSucceeded)),
		}, models.OutcomeRefunded, 100_000},
		{models.KindPriceProtection, models.ReturnNone, []step{
			at(time.Hour, approve), at(2*time.Hour, payment(key(1), models.RefundSucceeded)),
		}, models.OutcomePriceProtected, 5_000},
		{models.KindReturnRefund, models.ReturnPickup, []step{
			at(time.Hour, approve), at(2*time.Hour, courier(models.CourierPickedUp)),
			at(3*time.Hour, courier(models.CourierDelivered)), at(4*time.Hour, passed),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		}, models.OutcomeRefunded, 100_000},
		{models.KindReturnRefund, models.ReturnSelfShip, []step{
			at(time.Hour, approve), at(2*time.Hour, shipSF),
			at(3*time.Hour, courier(models.CourierDelivered)), at(4*time.Hour, passed),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		}, models.OutcomeRefunded, 100_000},
		{models.KindExchange, models.ReturnPickup, []step{
			at(time.Hour, approve), at(2*time.Hour, courier(models.CourierPickedUp)),
			at(3*time.Hour, courier(models.CourierDelivered)), at(4*time.Hour, passed),
			at(5*time.Hour, courier(models.CourierReplacementDelivered)),
			at(6*time.Hour, buyer("confirm_replacement")),
		}, models.OutcomeExchanged, 0},
		{models.KindExchange, models.ReturnSwapOnDelivery, []step{
			at(time.Hour, approve), at(2*time.Hour, courier(models.CourierSwapCompleted)),
		}, models.OutcomeSwapped, 0},
		{models.KindRepair, models.ReturnSelfShip, []step{
			at(time.Hour, approve), at(2*time.Hour, shipSF),
			at(3*time.Hour, courier(models.CourierDelivered)),
			at(4*time.Hour, courier(models.CourierReplacementDelivered)),
		}, models.OutcomeRepaired, 0},
	}
	for _, c := range cases {
		t.Run(string(c.kind)+"/"+string(c.method), func(t *testing.T) {
			tk := newHarness(t, newCreate(c.kind, c.method)).run(c.steps...)
			wantEnd(t, tk, models.StateCompleted, c.out)
			eq(t, "refunded", tk.RefundedCents, c.refunded)
			eq(t, "kind", tk.Kind, c.kind)
		})
	}
}

// Freight insurance (运费险) claims the buyer's one-way freight after a completed
// return, when the order has it and the buyer paid the return shipping.
func TestFreightInsurance(t *testing.T) {
	returnSteps := append(append([]step{}, toInspection...),
		at(4*time.Hour, passed), at(5*time.Hour, payment(key(1), models.RefundSucceeded)))
	t.Run("claimed after a completed return the buyer paid", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, freightInsured()))
		tk := h.run(append(returnSteps,
			// The ticket waits for the claim's answer before it ends.
			at(6*time.Hour, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "return shipping payer", tk.ReturnShippingPayer, "buyer")
			})),
			at(7*time.Hour, payment(key(2), models.RefundSucceeded)),
			at(8*time.Hour, inState(models.StateCompleted)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"), refundLine(2, "freight_insurance", 1_200, "succeeded"))
		eq(t, "refunded (freight not counted)", tk.RefundedCents, 100_000)
		if m := h.f.pay.methodsFor(key(2)); len(m) != 1 || m[0] != "freight" {
			t.Errorf("claim paid through %v, want one ClaimFreightInsurance", m)
		}
		wantOneCallPerKey(t, h.f, key(1), key(2))
	})
	t.Run("claimed after an exchange", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip, freightInsured()))
		tk := h.run(append(append([]step{}, toInspection...),
			at(4*time.Hour, passed), at(5*time.Hour, buyer("confirm_replacement")),
			// The ticket waits for the claim's answer before it ends.
			at(7*time.Hour, payment(key(1), models.RefundSucceeded)))...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		wantRefunds(t, tk, refundLine(1, "freight_insurance", 1_200, "succeeded"))
	})
	none := []struct {
		name string
		c    models.CreateTicket
	}{
		{"seller at fault pays the freight", newCreate(models.KindReturnRefund, models.ReturnSelfShip, freightInsured(), reason(models.ReasonDamaged))},
		{"order without insurance", newCreate(models.KindReturnRefund, models.ReturnSelfShip)},
	}
	for _, c := range none {
		t.Run("not claimed: "+c.name, func(t *testing.T) {
			h := newHarness(t, c.c)
			tk := h.run(returnSteps...)
			wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
			wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"))
		})
	}
	t.Run("not claimed: nothing was returned", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, freightInsured())).run(
			at(time.Hour, approve), at(2*time.Hour, payment(key(1), models.RefundSucceeded)))
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"))
	})
	t.Run("not claimed: the return was withdrawn", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, freightInsured())).run(
			append(append([]step{}, toInspection...), at(4*time.Hour, buyer("cancel")))...)
		wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
		eq(t, "money movements", len(tk.Refunds), 0)
	})
}

// The refunds of all tickets of one order never exceed what was paid. A refund the
// ledger refuses for the cap is not sent again (it cannot succeed): the platform
// decides at once.
func TestOrderRefundCap(t *testing.T) {
	f := newFakes()
	first := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(70_000)), withFakes(f), withTicketID("TA"))
	tkA := first.run(at(time.Hour, approve), at(2*time.Hour, payment("TA:refund:1", models.RefundSucceeded)))
	wantEnd(t, tkA, models.StateCompleted, models.OutcomeRefunded)

	second := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(50_000)), withFakes(f), withTicketID("TB"))
	tkB := second.run(
		at(time.Hour, approve),
		// The ledger refuses: 70 000 + 50 000 > 100 000 paid.
		at(2*time.Hour, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
			wantRefundsOf(t, tk, "TB:refund:1 refund 50000 void")
			eq(t, "escalated by", tk.Escalation.By, models.RoleSystem)
			eq(t, "escalation from", tk.Escalation.From, models.StateRefunding)
		})),
		at(3*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(30_001)})),
		at(4*time.Hour, inState(models.StateEscalated)), // refused again: 1 cent over
		at(5*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(30_000)})),
		at(6*time.Hour, payment("TB:refund:3", models.RefundSucceeded)),
	)
	wantEnd(t, tkB, models.StateCompleted, models.OutcomePartiallyRefunded)
	wantRefundsOf(t, tkB, "TB:refund:1 refund 50000 void", "TB:refund:2 refund 30001 void", "TB:refund:3 refund 30000 succeeded")
	eq(t, "B refunded", tkB.RefundedCents, 30_000)
	eq(t, "order refunded", f.ledger.succeededRefunds(orderID), 100_000)
	eq(t, "order reserved", f.ledger.reserved(orderID), 100_000)
	for _, k := range []string{"TB:refund:1", "TB:refund:2"} {
		eq(t, "provider calls for "+k, f.pay.callsFor(k), 0)
		if _, ok := f.ledger.row(k); ok {
			t.Errorf("refused reservation %s left a ledger row", k)
		}
	}
	wantOneCallPerKey(t, f, "TA:refund:1", "TB:refund:3")
}

// wantRefundsOf is wantRefunds for any ticket id.
func wantRefundsOf(t *testing.T, tk models.Ticket, want ...string) {
	t.Helper()
	got := make([]string, len(tk.Refunds))
	for i, r := range tk.Refunds {
		got[i] = fmt.Sprintf("%s %s %d %s", r.Key, r.Purpose, r.AmountCents, r.Status)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("refunds %v, want %v", got, want)
	}
}

// After the end the run stays for late_money_window (models.RulesMoneyAnchored):
// a key given up on that pays 100 days after the buyer evaluated still reaches
// the ticket, whose excess is charged back; the run ends at the window's close.
func TestLateMoneyWindow(t *testing.T) {
	p := models.DefaultPolicy() // late_money_window 180 days
	h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone), withPolicy(p))
	h.giveUpAfter = 200 * day
	tk := h.run(
		at(time.Hour, approve),
		at(3*time.Hour, payment(key(1), models.RefundFailed)),
		at(5*time.Hour, payment(key(2), models.RefundSucceeded)),
		at(6*time.Hour, inState(models.StateCompleted, models.OutcomeRefunded)),
		at(7*time.Hour, buyer(models.ActEvaluate, models.ActionBody{Score: 5})),
		at(100*day, payment(key(1), models.RefundSucceeded)),
		at(100*day+time.Hour, payment(key(3), models.RefundSucceeded)),
	)
	wantRefunds(t, tk, refundLine(1, "refund", 100_000, "succeeded"), refundLine(2, "refund", 100_000, "succeeded"),
		refundLine(3, "overpayment", 100_000, "succeeded"))
	eq(t, "refunded", tk.RefundedCents, 100_000)
	if end := tk.EndedAt.Add(p.LateMoneyWindow.D()); h.env.Now().Before(end) {
		t.Errorf("the run ended at %s, before the late money window closed at %s", h.env.Now(), end)
	}
}
