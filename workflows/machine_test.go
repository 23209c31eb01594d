package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// machineRun drives TicketMachine in the SDK's time-skipping environment.
type machineRun struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	f   *fakes
	in  TicketInput
}

func newMachineRun(t *testing.T, c models.CreateTicket, p models.Policy) *machineRun {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("bad create request in test: %v", err)
	}
	r := &machineRun{t: t, f: newFakes(), in: TicketInput{TicketID: tid, Create: c, Policy: p,
		Actor: c.BuyerID, Role: models.RoleBuyer, RequestID: "create-1"}}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(testLogger{t})
	r.env = s.NewTestWorkflowEnvironment()
	r.env.RegisterWorkflowWithOptions(TicketMachine, workflow.RegisterOptions{Name: "TicketMachine"})
	r.env.RegisterWorkflowWithOptions(EscalationWorkflow, workflow.RegisterOptions{Name: "EscalationWorkflow"})
	r.env.RegisterActivity(r.f.activities())
	r.env.SetStartTime(t0)
	r.env.SetTestTimeout(time.Minute)
	return r
}

// at runs fn d after the start.
func (r *machineRun) at(d time.Duration, fn func()) { r.env.RegisterDelayedCallback(fn, d) }

func (r *machineRun) act(role models.Role, actor, action string, b models.ActionBody) {
	r.t.Helper()
	r.env.UpdateWorkflow(UpdateAction, action+"-"+actor, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { r.t.Errorf("%s by %s refused: %v", action, role, err) },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			if err != nil {
				r.t.Errorf("%s by %s failed: %v", action, role, err)
			}
		},
	}, models.ActionRequest{Action: action, Actor: actor, Role: role, Body: b})
}

func (r *machineRun) courier(id, typ string) {
	r.env.SignalWorkflow(SignalCourier, models.CourierEvent{EventID: id, TicketID: tid, Type: typ})
}

func (r *machineRun) pay(id, key, status string) {
	r.env.SignalWorkflow(SignalPayment, models.PaymentEvent{EventID: id, TicketID: tid, RefundKey: key, Status: status})
}

// finish runs the ticket to its end and returns the final ticket.
func (r *machineRun) finish() models.Ticket {
	r.t.Helper()
	r.env.ExecuteWorkflow("TicketMachine", r.in)
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	if err := r.env.GetWorkflowError(); err != nil {
		r.t.Fatalf("workflow failed: %v", err)
	}
	var tk models.Ticket
	if err := r.env.GetWorkflowResult(&tk); err != nil {
		r.t.Fatal(err)
	}
	if got, ok := r.f.store.get(tid); !ok || got.Seq != tk.Seq || got.State != tk.State {
		r.t.Errorf("read model has seq %d %s, the ticket ended at seq %d %s", got.Seq, got.State, tk.Seq, tk.State)
	}
	return tk
}

func TestMachinePickupReturnAndRefund(t *testing.T) {
	r := newMachineRun(t, newCreate(models.KindReturnRefund, models.ReturnPickup), models.DefaultPolicy())
	r.at(time.Hour, func() { r.act(models.RoleSeller, "shop-1", models.ActApprove, models.ActionBody{}) })
	r.at(5*time.Hour, func() { r.courier("c1", models.CourierPickedUp) })
	r.at(30*time.Hour, func() { r.courier("c2", models.CourierDelivered) })
	r.at(31*time.Hour, func() { r.courier("c2", models.CourierDelivered) }) // a duplicate changes nothing
	r.at(32*time.Hour, func() {
		r.act(models.RoleSeller, "shop-1", models.ActInspect, models.ActionBody{Result: models.InspectPass})
	})
	r.at(33*time.Hour, func() { r.pay("p1", key(1), models.RefundSucceeded) })
	tk := r.finish()
	if tk.State != models.StateCompleted || tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != tk.RequestedCents {
		t.Fatalf("ended %s/%s refunded %d; timeline %+v", tk.State, tk.Outcome, tk.RefundedCents, tk.Timeline)
	}
	if n := r.f.pay.callsFor(key(1)); n != 1 || len(tk.Refunds) != 1 {
		t.Errorf("provider called %d times, %d keys", n, len(tk.Refunds))
	}
	if c := r.f.courier.counts(); c.pickups != 1 {
		t.Errorf("pickups booked %d", c.pickups)
	}
}

// A provider that fails every call for 30 hours: the ticket keeps its deadlines
// (refund_by forces and then escalates) instead of freezing on a retry that never
// ends; no second key is issued; once the provider is back the unanswered key is
// looked up, found never received, sent again under the same key and paid once.
func TestMachineProviderOutage(t *testing.T) {
	p := models.DefaultPolicy()
	p.RefundTimeout = models.Duration(12 * time.Hour)
	r := newMachineRun(t, newCreate(models.KindRefundOnly, models.ReturnNone), p)
	// Not retryable, so each effect gives up at once: the test is about what the
	// ticket does between attempts, not about the activity's own retries.
	unavailable := temporal.NewNonRetryableApplicationError("503 service unavailable", "unavailable", nil)
	var down atomic.Bool
	down.Store(true)
	r.env.RegisterActivityWithOptions(func(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
		if down.Load() {
			return activities.Receipt{}, unavailable
		}
		return r.f.activities().MoveMoney(ctx, req)
	}, activity.RegisterOptions{Name: "MoveMoney"})
	r.env.RegisterActivityWithOptions(func(ctx context.Context, key string) (activities.Receipt, error) {
		if down.Load() {
			return activities.Receipt{}, unavailable
		}
		return r.f.activities().LookupMoney(ctx, key)
	}, activity.RegisterOptions{Name: "LookupMoney"})
	r.at(time.Hour, func() { r.act(models.RoleSeller, "shop-1", models.ActApprove, models.ActionBody{}) })
	r.at(30*time.Hour, func() { down.Store(false) })
	r.at(40*time.Hour, func() {
		r.act(models.RolePlatform, "agent-1", models.ActArbitrate,
			models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(0)})
	})
	r.at(50*time.Hour, func() { r.pay("p1", key(1), models.RefundSucceeded) })
	tk := r.finish()
	if !tk.Flags.SellerBreach || !tk.Flags.Escalated {
		t.Fatalf("flags %+v: refund_by did not fire through the outage; timeline %+v", tk.Flags, tk.Timeline)
	}
	// The key never reached the provider: it is sent again under the same key
	// once the provider is back, and paid once.
	if len(tk.Refunds) != 1 || r.f.pay.callsFor(key(1)) != 1 {
		t.Errorf("keys %+v, provider called %d times", tk.Refunds, r.f.pay.callsFor(key(1)))
	}
	if tk.State != models.StateCompleted || tk.RefundedCents != tk.RequestedCents || hasAction(tk, "escalation_failed") {
		t.Errorf("ended %s/%s refunded %d; timeline %+v", tk.State, tk.Outcome, tk.RefundedCents, tk.Timeline)
	}
}
