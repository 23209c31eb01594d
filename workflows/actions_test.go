package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/models"
)

// Refused actions come back as a *temporal.ApplicationError whose Type is the
// domain code (forbidden, conflict, invalid, not_found) and change nothing.
func TestActionRefusals(t *testing.T) {
	cases := []struct {
		op   actionOp
		code string
	}{
		// wrong party
		{buyer("approve"), models.EFORBIDDEN},
		{act(models.RoleSeller, "shop-2", "approve"), models.EFORBIDDEN},
		{act(models.RoleBuyer, "buyer-2", "cancel"), models.EFORBIDDEN},
		{seller("cancel"), models.EFORBIDDEN},
		{seller("arbitrate", models.ActionBody{Verdict: models.VerdictSupportSeller}), models.EFORBIDDEN},
		{platform("evaluate", models.ActionBody{Score: 5}), models.EFORBIDDEN},
		{act(models.RoleSystem, "system", "approve"), models.EFORBIDDEN},
		// wrong state
		{buyer("ship", models.ActionBody{Carrier: "SF", TrackingNo: "1"}), models.ECONFLICT},
		{seller("inspect", models.ActionBody{Result: models.InspectPass}), models.ECONFLICT},
		{buyer("confirm_replacement"), models.ECONFLICT},
		{buyer("accept_offer"), models.ECONFLICT},
		{buyer("revise"), models.ECONFLICT},
		{buyer("evidence", models.ActionBody{Note: "x"}), models.ECONFLICT},
		{platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportSeller}), models.ECONFLICT},
		{buyer("evaluate", models.ActionBody{Score: 5}), models.ECONFLICT},
		{buyer("escalate", models.ActionBody{Reason: "x"}), models.ECONFLICT},
		{seller("confirm_receipt"), models.ECONFLICT},
		// bad parameters
		{seller("reject"), models.EINVALID},
		{seller("reject", models.ActionBody{Reason: "   "}), models.EINVALID},
		{seller("offer", models.ActionBody{RefundCents: i64(0)}), models.EINVALID},
		{seller("offer", models.ActionBody{RefundCents: i64(-5)}), models.EINVALID},
		{seller("report_delay", models.ActionBody{Reason: "x", Extend: "soon"}), models.EINVALID},
		{seller("report_delay", models.ActionBody{Reason: "x", Extend: "-1h"}), models.EINVALID},
		// unknown action
		{buyer("teleport"), models.ENOTFOUND},
	}
	steps := []step{}
	for i, c := range cases {
		steps = append(steps, at(time.Hour+time.Duration(i)*time.Minute, c.op.refused(c.code)))
	}
	steps = append(steps, at(3*time.Hour, inState(models.StatePendingReview), check(func(t *testing.T, tk models.Ticket) {
		eq(t, "timeline entries", len(tk.Timeline), 1) // only the creation
		if tk.FirstReplyAt != nil {
			t.Errorf("a refused seller action started the reply clock")
		}
	})))
	steps = append(steps, at(4*time.Hour, buyer("cancel", models.ActionBody{Reason: "done testing"})))
	tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(steps...)
	wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
}

// The validator's error itself: an ApplicationError of the domain code, not
// retryable, with the domain message.
func TestRefusalIsApplicationError(t *testing.T) {
	h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone))
	var got error
	h.run(
		at(time.Hour, opFunc(func(h *harness) {
			h.env.UpdateWorkflow(UpdateAction, "u1", &testsuiteCallback{onReject: func(err error) { got = err }},
				models.ActionRequest{Action: "approve", Actor: buyerID, Role: models.RoleBuyer})
		})),
		at(2*time.Hour, buyer("cancel")),
	)
	var ae *temporal.ApplicationError
	if !errors.As(got, &ae) {
		t.Fatalf("refusal %T %v, want *temporal.ApplicationError", got, got)
	}
	eq(t, "type", ae.Type(), models.EFORBIDDEN)
	eq(t, "non-retryable", ae.NonRetryable(), true)
	eq(t, "message", ae.Message(), "a buyer may not approve")
}

// testsuiteCallback is a bare UpdateCallbacks.
type testsuiteCallback struct{ onReject func(error) }

func (c *testsuiteCallback) Accept()             {}
func (c *testsuiteCallback) Reject(err error)    { c.onReject(err) }
func (c *testsuiteCallback) Complete(any, error) {}

// Buyer withdraws (cancel) any time before money moves.
func TestCancel(t *testing.T) {
	cancel := buyer("cancel", models.ActionBody{Reason: "found it"})
	cases := []struct {
		name    string
		c       models.CreateTicket
		steps   []step
		refused bool
		cancels int
	}{
		{"in review", newCreate(models.KindRefundOnly, models.ReturnNone), nil, false, 0},
		{"negotiating", newCreate(models.KindRefundOnly, models.ReturnNone), []step{
			at(time.Hour, seller("offer", models.ActionBody{RefundCents: i64(1)}))}, false, 0},
		{"awaiting pickup: the booking is cancelled", newCreate(models.KindReturnRefund, models.ReturnPickup), []step{
			at(time.Hour, approve)}, false, 1},
		{"in transit without a lightning refund", newCreate(models.KindReturnRefund, models.ReturnSelfShip), []step{
			at(time.Hour, approve), at(2*time.Hour, shipSF)}, false, 0},
		{"escalated before any money", newCreate(models.KindRefundOnly, models.ReturnNone), []step{
			at(time.Hour, seller("reject", models.ActionBody{Reason: "no"})),
			at(2*time.Hour, buyer("escalate", models.ActionBody{Reason: "yes"}))}, false, 0},
		{"refund sent: refused", newCreate(models.KindRefundOnly, models.ReturnNone), []step{
			at(time.Hour, approve)}, true, 0},
		{"lightning refund sent: refused", newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()), []step{
			at(time.Hour, courier(models.CourierPickedUp)), at(12*time.Hour, courier(models.CourierDelivered))}, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.c)
			op := cancel
			if c.refused {
				op = op.refused(models.ECONFLICT)
			}
			// A refund in flight is answered later: the ticket ends only then.
			tk := h.run(append(c.steps, at(10*time.Hour, op), at(11*time.Hour, payment(key(1), models.RefundSucceeded)))...)
			if c.refused {
				if tk.Outcome == models.OutcomeWithdrawn {
					t.Errorf("withdrawn after money moved")
				}
				return
			}
			wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
			eq(t, "ended at", *tk.EndedAt, t0.Add(10*time.Hour))
			eq(t, "bookings cancelled", h.f.courier.counts().cancels, c.cancels)
			eq(t, "money movements", len(tk.Refunds), 0)
		})
	}
	t.Run("after the provider confirmed every failed key void: nothing moved, the buyer may withdraw", func(t *testing.T) {
		// A failed key may still pay until the provider confirms it will not
		// (models.Decide refuses the cancel meanwhile; see models' tests); once
		// every key is void, no money moved.
		p := harnessPolicy()
		p.RefundAttempts = 1
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone), withPolicy(p))
		tk := h.run(
			at(time.Hour, approve),
			at(2*time.Hour, payment(key(1), models.RefundFailed)),
			at(3*time.Hour, inState(models.StateEscalated)),
			at(4*time.Hour, cancel),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
		wantRefunds(t, tk, refundLine(1, "refund", 100_000, "void"))
		eq(t, "refunded", tk.RefundedCents, 0)
	})
	t.Run("not after the ticket ended", func(t *testing.T) {
		newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, cancel),
			at(2*time.Hour, cancel.refused(models.ECONFLICT)),
		)
	})
}

// Evaluation: once, 1–5, by the buyer, within evaluation_window (7 d) after the end.
func TestEvaluate(t *testing.T) {
	ended := []step{at(time.Hour, approve), at(2*time.Hour, payment(key(1), models.RefundSucceeded))}
	t.Run("once within the window", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone))
		tk := h.run(append(ended,
			at(3*time.Hour, buyer("evaluate", models.ActionBody{Score: 0}).refused(models.EINVALID)),
			at(3*time.Hour+time.Minute, buyer("evaluate", models.ActionBody{Score: 6}).refused(models.EINVALID)),
			at(3*time.Hour+2*time.Minute, seller("evaluate", models.ActionBody{Score: 5}).refused(models.EFORBIDDEN)),
			at(2*time.Hour+7*day-time.Minute, buyer("evaluate", models.ActionBody{Score: 4, Comment: "quick"})),
			at(2*time.Hour+7*day-time.Minute/2, buyer("evaluate", models.ActionBody{Score: 1}).notAccepted()),
		)...)
		if tk.Evaluation == nil || tk.Evaluation.Score != 4 || tk.Evaluation.Comment != "quick" {
			t.Fatalf("evaluation %+v, want score 4", tk.Evaluation)
		}
		eq(t, "evaluated at", tk.Evaluation.At, t0.Add(2*time.Hour+7*day-time.Minute))
		wantTimeline(t, tk, "refund_paid", "evaluate")
	})
	t.Run("a second evaluation is refused", func(t *testing.T) {
		// The workflow stays open while an update runs; send both at once.
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone))
		tk := h.run(append(ended,
			at(3*time.Hour, buyer("evaluate", models.ActionBody{Score: 5}), buyer("evaluate", models.ActionBody{Score: 2}).refused(models.ECONFLICT)),
		)...)
		eq(t, "score", tk.Evaluation.Score, 5)
	})
	t.Run("after the window: not accepted", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(append(ended,
			at(2*time.Hour+7*day+time.Hour, buyer("evaluate", models.ActionBody{Score: 5}).notAccepted()),
		)...)
		if tk.Evaluation != nil {
			t.Errorf("evaluated after the window: %+v", tk.Evaluation)
		}
	})
}
