package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// A provider that fails every call for 30 hours: the ticket keeps its deadlines
// (refund_by forces and then escalates) instead of freezing on a retry that never
// ends; no second key is issued; once the provider is back the unanswered key is
// looked up, found never received, sent again under the same key and paid once.
func TestProviderOutage(t *testing.T) {
	p := models.DefaultPolicy()
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
