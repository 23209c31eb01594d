package workflows

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// A provider that fails every call for 30 hours: the ticket keeps its deadlines
// (refund_by forces and then escalates) instead of freezing on a retry that never
// ends; no second key is issued; once the provider is back the unanswered key is
// looked up, found never received, sent again under the same key and paid once.
func TestProviderOutage(t *testing.T) {
	p := harnessPolicy()
	p.RefundTimeout = models.Duration(12 * time.Hour)
	h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone), withPolicy(p))
	// Not retryable, so each effect gives up at once: the test is about what the
	// ticket does between attempts, not about the activity's own retries.
	unavailable := temporal.NewNonRetryableApplicationError("503 service unavailable", "unavailable", nil)
	var down atomic.Bool
	down.Store(true)
	h.env.RegisterActivityWithOptions(func(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
		if down.Load() {
			return activities.Receipt{}, unavailable
		}
		return h.f.activities().MoveMoney(ctx, req)
	}, activity.RegisterOptions{Name: "MoveMoney"})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, key string) (activities.Receipt, error) {
		if down.Load() {
			return activities.Receipt{}, unavailable
		}
		return h.f.activities().LookupMoney(ctx, key)
	}, activity.RegisterOptions{Name: "LookupMoney"})
	tk := h.run(
		at(time.Hour, approve),
		at(30*time.Hour, opFunc(func(*harness) { down.Store(false) })),
		at(40*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(0)})),
		at(50*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	if !tk.Flags.SellerBreach || !tk.Flags.Escalated {
		t.Fatalf("flags %+v: refund_by did not fire through the outage; timeline %v", tk.Flags, actionsOf(tk))
	}
	if len(tk.Refunds) != 1 || h.f.pay.callsFor(key(1)) != 1 {
		t.Errorf("keys %+v, provider called %d times", tk.Refunds, h.f.pay.callsFor(key(1)))
	}
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	eq(t, "refunded", tk.RefundedCents, tk.RequestedCents)
}

// An escalation whose own process fails leaves the ticket deciding at decide_by
// itself, for the party that answered, instead of waiting for ever.
func TestEscalationProcessLost(t *testing.T) {
	lost := func(ctx workflow.Context, in EscalationInput) (Verdict, error) {
		return Verdict{}, errors.New("escalation process lost")
	}
	h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(50_000)), withEscalation(lost))
	tk := h.run(
		at(time.Hour, seller("reject", models.ActionBody{Reason: "no proof"})),
		at(2*time.Hour, buyer("escalate", models.ActionBody{Reason: "photos"})),
		at(3*time.Hour, buyer("evidence", models.ActionBody{Note: "photos attached"})),
		at(2*time.Hour+5*day+time.Hour, payment(key(1), models.RefundSucceeded)), // after decide_by (72h + 48h)
	)
	if !hasAction(tk, "escalation_failed") {
		t.Errorf("timeline %v lacks escalation_failed", actionsOf(tk))
	}
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	eq(t, "refunded", tk.RefundedCents, 50_000)
}
