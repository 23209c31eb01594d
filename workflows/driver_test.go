package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// The test driver: a ticket is created at t0 and a script of timed steps drives it
// through the time-skipping test environment, e.g.
//
//	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
//	tk := h.run(
//		at(2*time.Hour, seller("approve")),
//		at(3*time.Hour, courier("picked_up")),
//		at(4*time.Hour, inState(models.StateInTransit)),
//	)
//
// Step times are offsets from t0 (the workflow's start). Every action states whether
// it must be accepted (the default) or refused with a code; run checks that after the
// workflow ended, together with the money invariants on the fakes.

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

const (
	tid     = "T1"
	shopID  = "shop-1"
	buyerID = "buyer-1"
	agentID = "agent-1"
	orderID = "O1"
	day     = 24 * time.Hour
	sec     = time.Second
)

// key is the n-th money movement key of ticket T1.
func key(n int) string { return models.RefundKey(tid, n) }

func i64(v int64) *int64 { return &v }

// ---- creation ----

type createOpt func(*models.CreateTicket)

// newCreate is a ticket request that neither fast review nor lightning refund
// applies to (1000 CNY asked of 1000 CNY paid, buyer credit 1); options change that.
func newCreate(kind models.Kind, method models.ReturnMethod, opts ...createOpt) models.CreateTicket {
	c := models.CreateTicket{
		OrderID: orderID, ShopID: shopID, BuyerID: buyerID, Kind: kind,
		ReasonCode: models.ReasonNoReason, Reason: "changed my mind", ReturnMethod: method,
		RequestedCents: 100_000, Currency: "CNY",
		Order:       models.OrderInfo{PaidCents: 100_000, PaidAt: t0.Add(-72 * time.Hour), Shipped: true, Delivered: true},
		Items:       []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 100_000}},
		BuyerCredit: 1,
	}
	if kind == models.KindExchange {
		c.ExchangeSKU = "SKU-1-L"
		c.RequestedCents = 0
	}
	if kind == models.KindRepair {
		c.RequestedCents = 0
	}
	if kind == models.KindPriceProtection {
		c.ReasonCode = models.ReasonPriceDrop
		c.RequestedCents = 5_000
	}
	if method == models.ReturnPickup || method == models.ReturnSwapOnDelivery {
		c.PickupAddress = "1 Test Road, Hangzhou"
	}
	for _, o := range opts {
		o(&c)
	}
	c.Normalize()
	return c
}

func credit(n int) createOpt               { return func(c *models.CreateTicket) { c.BuyerCredit = n } }
func asking(cents int64) createOpt         { return func(c *models.CreateTicket) { c.RequestedCents = cents } }
func paid(cents int64) createOpt           { return func(c *models.CreateTicket) { c.Order.PaidCents = cents } }
func reason(r models.ReasonCode) createOpt { return func(c *models.CreateTicket) { c.ReasonCode = r } }
func recentReturns(n int) createOpt        { return func(c *models.CreateTicket) { c.RecentReturns = n } }
func freightInsured() createOpt {
	return func(c *models.CreateTicket) { c.Order.FreightInsurance = true }
}
func onOrder(id string) createOpt { return func(c *models.CreateTicket) { c.OrderID = id } }

// lightning makes the ticket eligible for fast review and lightning refund: 300 CNY,
// buyer credit 3.
func lightning() createOpt {
	return func(c *models.CreateTicket) {
		c.BuyerCredit = 3
		c.RequestedCents, c.Order.PaidCents, c.Items[0].UnitPaidCents = 30_000, 30_000, 30_000
	}
}

// ---- harness ----

type harness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	f      *fakes
	in     TicketInput
	checks []*updateCheck
	events int
	reqs   int
	// giveUpAfter is how much skipped time a run may take (60 days unless set).
	giveUpAfter time.Duration
	escalation  any // the EscalationWorkflow registered (withEscalation)
	// overpaidBy is what the provider is scripted to pay beyond the cap, beyond
	// any recovery (a late success whose charges back all fail): the checks
	// allow exactly that much.
	overpaidBy int64
}

type harnessOpt func(*harness)

func withFakes(f *fakes) harnessOpt         { return func(h *harness) { h.f = f } }
func withTicketID(id string) harnessOpt     { return func(h *harness) { h.in.TicketID = id } }
func buyerFlagged() harnessOpt              { return func(h *harness) { h.in.BuyerFlagged = true } }
func withPolicy(p models.Policy) harnessOpt { return func(h *harness) { h.in.Policy = p } }
func withEscalation(w any) harnessOpt       { return func(h *harness) { h.escalation = w } }

func newEnv(t *testing.T, a *activities.Activities) *testsuite.TestWorkflowEnvironment {
	return newEnvWith(t, a, EscalationWorkflow)
}

// newEnvWith is newEnv with escalation registered as the EscalationWorkflow.
func newEnvWith(t *testing.T, a *activities.Activities, escalation any) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(testLogger{t})
	env := s.NewTestWorkflowEnvironment()
	// The names worker/worker.go registers: part of the contract with histories.
	env.RegisterWorkflowWithOptions(TicketWorkflow, workflow.RegisterOptions{Name: "TicketWorkflow"})
	env.RegisterWorkflowWithOptions(escalation, workflow.RegisterOptions{Name: "EscalationWorkflow"})
	env.RegisterWorkflowWithOptions(ShippingWatchWorkflow, workflow.RegisterOptions{Name: "ShippingWatchWorkflow"})
	env.RegisterActivity(a)
	env.SetStartTime(t0)
	env.SetTestTimeout(time.Minute)
	return env
}

// harnessPolicy is the built-in policy with late_money_window cut to the
// evaluation window, so a run ends within the harness's giveUpAfter (the late
// window itself is TestLateMoneyWindow's), and without
// no_reason_inspect_timeout, so the harness's no-reason tickets inspect within
// inspect_timeout as every other (the no-reason bound is
// models.TestNoReasonRefundWithinSevenDays').
func harnessPolicy() models.Policy {
	p := models.DefaultPolicy()
	p.LateMoneyWindow = p.EvaluationWindow
	p.NoReasonInspectTimeout = 0
	return p
}

func newHarness(t *testing.T, c models.CreateTicket, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, giveUpAfter: 60 * day, in: TicketInput{TicketID: tid, Create: c, Policy: harnessPolicy(),
		Actor: c.BuyerID, Role: models.RoleBuyer, RequestID: "create-1"}}
	for _, o := range opts {
		o(h)
	}
	if h.f == nil {
		h.f = newFakes()
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("bad create request in test: %v", err)
	}
	if h.escalation == nil {
		h.escalation = EscalationWorkflow
	}
	h.env = newEnvWith(t, h.f.activities(), h.escalation)
	return h
}

// ticket queries the live ticket.
func (h *harness) ticket() models.Ticket {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryTicket)
	if err != nil {
		h.t.Fatalf("query %s: %v", QueryTicket, err)
	}
	var tk models.Ticket
	if err := v.Get(&tk); err != nil {
		h.t.Fatalf("decode ticket: %v", err)
	}
	return tk
}

func (h *harness) elapsed() time.Duration { return h.env.Now().Sub(t0) }

// testLogger drops the test environment's debug chatter and keeps warnings and
// errors (a failed projection, a ledger not updated) in the test's log.
type testLogger struct{ t *testing.T }

func (l testLogger) Debug(string, ...any) {}
func (l testLogger) Info(string, ...any)  {}
func (l testLogger) Warn(msg string, kv ...any) {
	l.t.Helper()
	l.t.Log(append([]any{"WARN", msg}, kv...)...)
}
func (l testLogger) Error(msg string, kv ...any) {
	l.t.Helper()
	l.t.Log(append([]any{"ERROR", msg}, kv...)...)
}

// step is what happens at one moment of the script.
type step struct {
	at  time.Duration
	ops []op
}

type op interface{ apply(h *harness) }

type opFunc func(h *harness)

func (f opFunc) apply(h *harness) { f(h) }

func at(d time.Duration, ops ...op) step { return step{at: d, ops: ops} }

// run schedules the steps, runs the workflow to its end (time skips through every
// deadline and the evaluation window) and returns the final ticket after checking
// the actions' expectations and the money invariants.
func (h *harness) run(steps ...step) models.Ticket {
	h.t.Helper()
	for _, s := range steps {
		s := s
		if s.at <= 0 {
			h.t.Fatalf("step times are offsets after the creation, not %s", s.at)
		}
		h.env.RegisterDelayedCallback(func() {
			for _, o := range s.ops {
				o.apply(h)
			}
		}, s.at)
	}
	// A ticket still open long after its script waits for something the script
	// never sends: fail with where it stands instead of skipping on.
	h.env.RegisterDelayedCallback(func() {
		tk := h.ticket()
		h.t.Errorf("still running after %s: %s, refunds %+v, timeline %v", h.giveUpAfter, tk.State, tk.Refunds, actionsOf(tk))
		h.env.CancelWorkflow()
	}, h.giveUpAfter)
	h.env.ExecuteWorkflow("TicketWorkflow", h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatalf("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var tk models.Ticket
	if err := h.env.GetWorkflowResult(&tk); err != nil {
		h.t.Fatalf("workflow result: %v", err)
	}
	// The result leaves the timeline to the read model, as the API's answers do.
	if len(tk.Timeline) > 0 {
		h.t.Errorf("the workflow's result carries %d timeline entries; the read model holds them", len(tk.Timeline))
	}
	if got, ok := h.f.store.get(tk.ID); ok {
		tk.Timeline = got.Timeline
	}
	for i, e := range tk.Timeline {
		if e.Seq != int64(i+1) {
			h.t.Errorf("projected timeline has seq %d at position %d: entries lost or repeated", e.Seq, i)
			break
		}
	}
	if n := len(tk.Timeline); n > 0 && tk.Timeline[n-1].Seq != tk.Seq {
		h.t.Errorf("projected timeline ends at seq %d, the ticket is at %d", tk.Timeline[n-1].Seq, tk.Seq)
	}
	h.verifyUpdates()
	checkMoney(h.t, h.f, tk, h.overpaidBy)
	h.checkProjection(tk)
	return tk
}

// checkProjection: the read model got the final ticket.
func (h *harness) checkProjection(tk models.Ticket) {
	h.t.Helper()
	// Projections may land out of order (each runs in its own coroutine): the
	// store keeps the newest row and merges the timeline, as store.DB does.
	got, ok := h.f.store.get(tk.ID)
	if !ok {
		h.t.Errorf("ticket %s never projected", tk.ID)
		return
	}
	if a, b := jsonOf(h.t, got), jsonOf(h.t, tk); a != b {
		h.t.Errorf("read model is stale:\nprojected %s\nfinal     %s", a, b)
	}
}

// checkMoney holds after every run: refunds within what was paid, refunded_cents is
// the net of succeeded movements, every key is a ledger row and was sent to the
// provider at most once, and the ticket's refund statuses agree with the ledger.
func checkMoney(t *testing.T, f *fakes, tk models.Ticket, overpaidBy int64) {
	t.Helper()
	if tk.RefundedCents > tk.Order.PaidCents+overpaidBy {
		t.Errorf("refunded_cents %d > paid %d", tk.RefundedCents, tk.Order.PaidCents)
	}
	var sum int64
	keys := map[string]bool{}
	for _, r := range tk.Refunds {
		if keys[r.Key] {
			t.Errorf("ticket lists refund key %s twice", r.Key)
		}
		keys[r.Key] = true
		if r.Status == models.RefundSucceeded {
			// Net: refunds, less charges back (recovery, overpayment), plus what a
			// recovery paid back.
			switch r.Purpose {
			case models.PurposeRefund, models.PurposeRepayment:
				sum += r.AmountCents
			case models.PurposeRecovery, models.PurposeOverpaid:
				sum -= r.AmountCents
			}
		}
		row, ok := f.ledger.row(r.Key)
		switch {
		case !ok && r.Status != models.RefundFailed && r.Status != models.RefundVoid: // refused before the provider call
			t.Errorf("refund %s (%s) has no ledger row", r.Key, r.Status)
		case ok && row.Status != r.Status:
			t.Errorf("refund %s: ticket says %s, ledger says %s", r.Key, r.Status, row.Status)
		}
		if n := f.pay.callsFor(r.Key); n > 1 {
			t.Errorf("provider called %d times for %s", n, r.Key)
		} else if n == 0 && (r.Status == models.RefundSent || r.Status == models.RefundSucceeded) {
			t.Errorf("refund %s is %s but the provider never saw it", r.Key, r.Status)
		}
	}
	if sum != tk.RefundedCents {
		t.Errorf("refunded_cents %d, but succeeded movements net %d (%+v)", tk.RefundedCents, sum, tk.Refunds)
	}
	if err := f.pay.check(); err != nil {
		t.Error(err)
	}
	if err := f.ledger.check(overpaidBy); err != nil {
		t.Error(err)
	}
}

// ---- actions ----

// Expectations of an action.
const (
	wantAccepted    = ""
	wantUndelivered = "undelivered" // the workflow is gone, or refused: anything but accepted
)

type updateCheck struct {
	desc        string
	want        string
	accepted    bool
	completed   bool
	rejectErr   error
	completeErr error
	result      *ActionResult
	then        func(t *testing.T, tk models.Ticket)
}

// actionOp sends one agent action as the API does: an Update named "action".
type actionOp struct {
	req  models.ActionRequest
	want string
	then func(t *testing.T, tk models.Ticket)
}

func act(role models.Role, actor, action string, body ...models.ActionBody) actionOp {
	a := actionOp{req: models.ActionRequest{Action: action, Actor: actor, Role: role}}
	if len(body) > 0 {
		a.req.Body = body[0]
	}
	return a
}

func seller(action string, body ...models.ActionBody) actionOp {
	return act(models.RoleSeller, shopID, action, body...)
}

func buyer(action string, body ...models.ActionBody) actionOp {
	return act(models.RoleBuyer, buyerID, action, body...)
}

func platform(action string, body ...models.ActionBody) actionOp {
	return act(models.RolePlatform, agentID, action, body...)
}

// refused expects the action to be refused by the validator with the error code.
func (a actionOp) refused(code string) actionOp { a.want = code; return a }

// notAccepted expects the action not to be accepted by any means (used after the
// workflow has ended).
func (a actionOp) notAccepted() actionOp { a.want = wantUndelivered; return a }

// returning checks the ticket the accepted action returned.
func (a actionOp) returning(fn func(t *testing.T, tk models.Ticket)) actionOp { a.then = fn; return a }

func (a actionOp) apply(h *harness) {
	h.reqs++
	req := a.req
	req.RequestID = fmt.Sprintf("req-%d", h.reqs)
	c := &updateCheck{desc: fmt.Sprintf("%s by %s %s at %s", req.Action, req.Role, req.Actor, h.elapsed()),
		want: a.want, then: a.then}
	h.checks = append(h.checks, c)
	refusal := a.want != wantAccepted && a.want != wantUndelivered
	var before string
	if refusal {
		// Taken right before the update is validated (after anything sent earlier
		// in the same step).
		h.env.RegisterDelayedCallback(func() { before = jsonOf(h.t, h.ticket()) }, 0)
	}
	h.env.UpdateWorkflow(UpdateAction, req.RequestID, &testsuite.TestUpdateCallback{
		OnAccept: func() { c.accepted = true },
		OnReject: func(err error) { c.rejectErr = err },
		OnComplete: func(v any, err error) {
			c.completed, c.completeErr = true, err
			if r, ok := v.(ActionResult); ok {
				// A copy: the test environment hands over the workflow's own value.
				var cp ActionResult
				if err := json.Unmarshal([]byte(jsonOf(h.t, r)), &cp); err == nil {
					c.result = &cp
				}
			}
		},
	}, req)
	if refusal {
		// Runs right after the update was validated and refused.
		h.env.RegisterDelayedCallback(func() {
			if after := jsonOf(h.t, h.ticket()); after != before {
				h.t.Errorf("%s was refused but changed the ticket:\nbefore %s\nafter  %s", c.desc, before, after)
			}
		}, 0)
	}
}

func (h *harness) verifyUpdates() {
	h.t.Helper()
	for _, c := range h.checks {
		switch c.want {
		case wantAccepted:
			if c.rejectErr != nil {
				h.t.Errorf("%s: refused: %v", c.desc, c.rejectErr)
			} else if !c.completed || c.completeErr != nil {
				h.t.Errorf("%s: not completed (accepted %v, error %v)", c.desc, c.accepted, c.completeErr)
			} else if c.then != nil && c.result != nil {
				c.then(h.t, c.result.Ticket)
			}
		case wantUndelivered:
			if c.completed && c.completeErr == nil {
				h.t.Errorf("%s: accepted, want it refused or undelivered", c.desc)
			}
		default:
			if c.accepted {
				h.t.Errorf("%s: accepted, want refused with %q", c.desc, c.want)
				continue
			}
			if c.rejectErr == nil {
				h.t.Errorf("%s: not refused, want %q", c.desc, c.want)
				continue
			}
			if got := appErrorType(c.rejectErr); got != c.want {
				h.t.Errorf("%s: refused with %q (%v), want %q", c.desc, got, c.rejectErr, c.want)
			}
		}
	}
}

// appErrorType returns the Type of a *temporal.ApplicationError, or a description of
// what else err is.
func appErrorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return fmt.Sprintf("not an ApplicationError: %T", err)
}

// ---- webhooks ----

// courier sends a courier webhook with a fresh event id.
func courier(typ string) op {
	return opFunc(func(h *harness) {
		h.events++
		courierEv(fmt.Sprintf("c-%d", h.events), typ).apply(h)
	})
}

// courierEv sends a courier webhook with the given event id (for duplicates).
func courierEv(eventID, typ string) op {
	return opFunc(func(h *harness) {
		h.env.SignalWorkflow(SignalCourier, models.CourierEvent{EventID: eventID, TicketID: h.in.TicketID,
			Type: typ, TrackingNo: "SF-" + eventID, At: h.env.Now()})
	})
}

// payment reports the provider's result for key with a fresh event id. The fake
// provider settles the key the same way, so a later lookup agrees.
func payment(k string, status models.MoneyStatus) op {
	return opFunc(func(h *harness) {
		h.events++
		paymentEv(fmt.Sprintf("p-%d", h.events), k, status).apply(h)
	})
}

func paymentEv(eventID, k string, status models.MoneyStatus) op {
	return opFunc(func(h *harness) {
		h.f.pay.settle(k, status)
		// As the webhook endpoint does: the ledger records the event first.
		_, _ = h.f.ledger.MarkRefund(context.Background(), k, status, "pay-"+k)
		h.env.SignalWorkflow(SignalPayment, models.PaymentEvent{EventID: eventID, TicketID: h.in.TicketID,
			RefundKey: k, Status: status, ProviderRef: "pay-" + k, Reason: reasonFor(status)})
	})
}

func reasonFor(status models.MoneyStatus) string {
	if status == models.RefundFailed {
		return "account closed"
	}
	return ""
}

// ---- assertions at a moment ----

// check runs fn on the live ticket.
func check(fn func(t *testing.T, tk models.Ticket)) op {
	return opFunc(func(h *harness) {
		h.t.Helper()
		fn(h.t, h.ticket())
	})
}

// inState asserts the live state (and the outcome, when given).
func inState(s models.State, outcome ...models.Outcome) op {
	return opFunc(func(h *harness) {
		tk := h.ticket()
		if tk.State != s {
			h.t.Errorf("at %s: state %s, want %s (timeline %s)", h.elapsed(), tk.State, s, actionsOf(tk))
		}
		if len(outcome) > 0 && tk.Outcome != outcome[0] {
			h.t.Errorf("at %s: outcome %q, want %q", h.elapsed(), tk.Outcome, outcome[0])
		}
	})
}

// deadlineAt asserts the running deadline.
func deadlineAt(name string, offset time.Duration) op {
	return check(func(t *testing.T, tk models.Ticket) {
		t.Helper()
		if tk.Deadline == nil {
			t.Errorf("no deadline, want %s at t0+%s", name, offset)
			return
		}
		if tk.Deadline.Name != name || !tk.Deadline.At.Equal(t0.Add(offset)) {
			t.Errorf("deadline %s at t0+%s, want %s at t0+%s", tk.Deadline.Name, tk.Deadline.At.Sub(t0), name, offset)
		}
	})
}

// ---- helpers on tickets ----

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func actionsOf(tk models.Ticket) []string {
	out := make([]string, len(tk.Timeline))
	for i, e := range tk.Timeline {
		out[i] = e.Action
	}
	return out
}

// wantTimeline asserts that the timeline holds these actions in this order (other
// entries may come between them).
func wantTimeline(t *testing.T, tk models.Ticket, actions ...string) {
	t.Helper()
	got := actionsOf(tk)
	i := 0
	for _, a := range got {
		if i < len(actions) && a == actions[i] {
			i++
		}
	}
	if i < len(actions) {
		t.Errorf("timeline %v lacks %q (in order %v)", got, actions[i], actions)
	}
}

func hasAction(tk models.Ticket, action string) bool {
	for _, e := range tk.Timeline {
		if e.Action == action {
			return true
		}
	}
	return false
}

// wantEnd asserts the final state and outcome.
func wantEnd(t *testing.T, tk models.Ticket, s models.State, o models.Outcome) {
	t.Helper()
	if tk.State != s || tk.Outcome != o {
		t.Errorf("ended %s/%s, want %s/%s (timeline %v)", tk.State, tk.Outcome, s, o, actionsOf(tk))
	}
}

// wantRefunds asserts the ticket's money movements as "key purpose amount status".
func wantRefunds(t *testing.T, tk models.Ticket, want ...string) {
	t.Helper()
	got := make([]string, len(tk.Refunds))
	for i, r := range tk.Refunds {
		got[i] = fmt.Sprintf("%s %s %d %s", r.Key, r.Purpose, r.AmountCents, r.Status)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refunds:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func refundLine(n int, purpose string, amount int64, status models.MoneyStatus) string {
	return fmt.Sprintf("%s %s %d %s", key(n), purpose, amount, status)
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantOneCallPerKey asserts that the provider saw each key exactly once.
func wantOneCallPerKey(t *testing.T, f *fakes, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if n := f.pay.callsFor(k); n != 1 {
			t.Errorf("provider called %d times for %s, want exactly once", n, k)
		}
	}
}

// cupsAndPlate returns 2 cups at 10.00 and a plate at 25.00 of an order paid 55.00.
func cupsAndPlate(c *models.CreateTicket) {
	c.Order.PaidCents, c.RequestedCents = 5_500, 4_500
	c.Items = []models.Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1_000}, {SKU: "PLATE", Qty: 1, UnitPaidCents: 2_500}}
}
