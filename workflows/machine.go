package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// TicketMachine is the ticket workflow as an interpreter of models.Decide, built
// beside TicketWorkflow until it takes its place. It keeps no rule of its own:
// every update, signal, effect result, verdict and deadline becomes a
// models.Input; the ticket models.Decide returns is the new state, and the
// effects it asks for run as activities (or as the escalation child) with
// bounded retries, outside any lock, their results fed back as inputs. One
// timer runs: the ticket's deadline, cancelled and started again when it moves.
func TicketMachine(ctx workflow.Context, in TicketInput) (models.Ticket, error) {
	m := &machine{in: in, p: in.Policy, seen: map[string]bool{}, failures: map[string]int{}, busyKeys: map[string]bool{}, wake: workflow.NewBufferedChannel(ctx, 1)}
	m.t = models.NewTicket(in.TicketID, in.Create, in.Policy, workflow.Now(ctx))
	m.sel = workflow.NewSelector(ctx)
	if err := m.setup(ctx); err != nil {
		return m.t, err
	}
	m.apply(ctx, models.Input{Create: &models.CreateInput{Create: in.Create, Actor: in.Actor, Role: in.Role,
		RequestID: in.RequestID, BuyerFlagged: in.BuyerFlagged}})
	return m.run(ctx)
}

// machine is the private state of one TicketMachine run.
type machine struct {
	in   TicketInput
	p    models.Policy
	t    models.Ticket
	seen map[string]bool // webhook event ids applied (signals are deduplicated here)

	sel      workflow.Selector
	wake     workflow.Channel // an update changed the ticket: the loop looks again
	queue    []models.Effect  // asked for and not started yet: the loop starts them
	failures map[string]int   // money keys whose last effect gave up, and how often in a row
	busyKeys map[string]bool  // "<kind> <key>" of the money effects running or waiting to
	running  int              // effects started and not yet answered
	timer    *deadlineTimer
	child    workflow.ChildWorkflowFuture
	searched searchState
	sent     int64 // the last Seq handed to a projection
	synced   int64 // the last Seq the read model has (projections may finish out of order)
}

// deadlineTimer is the one timer of the ticket, for the deadline it was started for.
type deadlineTimer struct {
	name   string
	at     time.Time
	cancel workflow.CancelFunc
}

// setup registers the query, the action update with its validator (Decide on a
// copy: a refused action never enters history) and the signal channels.
func (m *machine) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryTicket, func() (models.Ticket, error) { return m.t, nil }); err != nil {
		return err
	}
	validate := func(ctx workflow.Context, req models.ActionRequest) error {
		_, _, err := models.Decide(m.t, m.p, models.Input{Action: &req}, workflow.Now(ctx))
		return asApplicationError(err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAction, func(ctx workflow.Context, req models.ActionRequest) (ActionResult, error) {
		// Another message may have moved the ticket since validation: decide again.
		if err := m.apply(ctx, models.Input{Action: &req}); err != nil {
			return ActionResult{}, asApplicationError(err)
		}
		m.wake.SendAsync(struct{}{})
		// The answer waits for the read model, so a GET right after sees it.
		t := m.t
		if err := workflow.Await(ctx, func() bool { return m.synced >= t.Seq }); err != nil {
			return ActionResult{}, err
		}
		return ActionResult{Ticket: withoutTimeline(t)}, nil
	}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateSync, func(ctx workflow.Context) (models.Ticket, error) {
		t := m.t // the ticket once its creation is in the read model
		err := workflow.Await(ctx, func() bool { return m.synced >= t.Seq })
		return withoutTimeline(t), err
	}); err != nil {
		return err
	}
	m.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalCourier), func(c workflow.ReceiveChannel, _ bool) {
		var ev models.CourierEvent
		c.Receive(ctx, &ev)
		m.once(ev.EventID, func() error { return m.apply(ctx, models.Input{Courier: &ev}) })
	})
	m.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalPayment), func(c workflow.ReceiveChannel, _ bool) {
		var ev models.PaymentEvent
		c.Receive(ctx, &ev)
		m.once(ev.EventID, func() error { return m.apply(ctx, models.Input{Payment: &ev}) })
	})
	m.sel.AddReceive(m.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
	return nil
}

// withoutTimeline is the ticket an update answers with: the timeline is in the
// read model, and sending it with every answer would grow history with its square.
func withoutTimeline(t models.Ticket) models.Ticket {
	t.Timeline = nil
	return t
}

// once applies a webhook event at most once by its id. An event the ticket
// refused (it came before its time, say) is not marked seen: the courier's retry
// may apply later.
func (m *machine) once(eventID string, apply func() error) {
	if eventID != "" && m.seen[eventID] {
		return
	}
	if apply() == nil && eventID != "" {
		m.seen[eventID] = true
	}
}

// apply feeds one input to Decide and, when the ticket accepts it, takes the new
// ticket, queues its effects for the main loop and writes what changed to the
// read model and the search attributes. Decide never blocks, so nothing else runs
// in between. ctx is the caller's own: the main loop's, or an update handler's.
func (m *machine) apply(ctx workflow.Context, in models.Input) error {
	t, effects, err := models.Decide(m.t, m.p, in, workflow.Now(ctx))
	if err != nil {
		return err
	}
	m.t = t
	m.queue = append(m.queue, effects...)
	m.sync(ctx)
	return nil
}

// run waits for whatever comes next until the ticket has ended, its money has
// settled and its evaluation window has passed.
func (m *machine) run(ctx workflow.Context) (models.Ticket, error) {
	for {
		// Effects start here, on the main loop's context, whoever asked for them:
		// their results come back through the selector, also on this loop.
		for len(m.queue) > 0 {
			e := m.queue[0]
			m.queue = m.queue[1:]
			m.startLater(ctx, e)
		}
		if m.finished(ctx) {
			break
		}
		m.armDeadline(ctx)
		m.sel.Select(ctx)
	}
	if m.timer != nil {
		m.timer.cancel()
	}
	// Webhooks that came in meanwhile are applied (an ended ticket still records
	// money), and every handler and projection finishes, before the run ends.
	for m.sel.HasPending() {
		m.sel.Select(ctx)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && m.synced >= m.t.Seq }); err != nil {
		return m.t, err
	}
	return m.t, nil
}

// finished: the ticket ended, nothing it started is still running, and the
// buyer's evaluation is in or its window closed.
func (m *machine) finished(ctx workflow.Context) bool {
	if !m.t.State.Terminal() || m.running > 0 || m.t.Refunds.Busy() {
		return false
	}
	return m.t.Evaluation != nil || !workflow.Now(ctx).Before(m.t.EndedAt.Add(m.p.EvaluationWindow.D()))
}

// armDeadline keeps the one timer on the ticket's running deadline: a deadline
// that moved cancels the old timer. In escalated the escalation runs the
// deadlines; after the end the timer waits for the evaluation window.
func (m *machine) armDeadline(ctx workflow.Context) {
	name, at := "", time.Time{}
	switch {
	case m.t.State.Terminal():
		if end := m.t.EndedAt.Add(m.p.EvaluationWindow.D()); m.t.Evaluation == nil && workflow.Now(ctx).Before(end) {
			name, at = "evaluation_window", end
		}
	case m.t.Deadline != nil && m.t.State != models.StateEscalated:
		name, at = m.t.Deadline.Name, m.t.Deadline.At
	}
	if m.timer != nil && m.timer.name == name && m.timer.at.Equal(at) {
		return
	}
	if m.timer != nil {
		m.timer.cancel()
		m.timer = nil
	}
	if name == "" {
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	dt := &deadlineTimer{name: name, at: at, cancel: cancel}
	m.timer = dt
	m.sel.AddFuture(workflow.NewTimer(tctx, max(at.Sub(workflow.Now(ctx)), 0)), func(f workflow.Future) {
		if f.Get(ctx, nil) != nil || m.timer != dt {
			return // cancelled: the deadline moved
		}
		m.timer = nil
		if dt.name != "evaluation_window" {
			_ = m.apply(ctx, models.Input{Deadline: dt.name}) // refused when stale
		}
	})
}

// Effects retry a few times, backing off, and then report failure as an input, so
// that an outage becomes a decision (look the money up later, book again, escalate)
// instead of a ticket frozen on an activity that retries for ever.
var effectOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: 30 * time.Second, MaximumAttempts: 8,
		NonRetryableErrorTypes: []string{models.ECONFLICT, models.EINVALID}},
}

// lookupOptions: asking the provider about a key is what the ticket does while
// the provider is down, so it backs off further (to 10 minutes, about two hours
// an effect) before the failure comes back to Decide, which asks again.
var lookupOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 20},
}

// startLater starts e now, or, when the last effect on the same money key gave up
// (the provider is down), after a pause that doubles with each failure in a row,
// from a minute to an hour: Decide asks again, the interpreter paces the asking.
func (m *machine) startLater(ctx workflow.Context, e models.Effect) {
	if e.Key != "" {
		// One effect per money key at a time: a lookup asked for while another
		// about the same key runs would only ask the same question twice.
		id := string(e.Kind) + " " + e.Key
		if m.busyKeys[id] {
			return
		}
		m.busyKeys[id] = true
	}
	n := m.failures[e.Key]
	if e.Key == "" || n == 0 {
		m.start(ctx, e)
		return
	}
	pause := min(time.Minute<<min(n-1, 6), time.Hour)
	m.running++
	m.sel.AddFuture(workflow.NewTimer(ctx, pause), func(workflow.Future) {
		m.running--
		m.start(ctx, e)
	})
}

// start runs one effect and feeds its result back when it completes.
func (m *machine) start(ctx workflow.Context, e models.Effect) {
	opts := effectOptions
	if e.Kind == models.EffectLookupMoney {
		opts = lookupOptions
	}
	actx := workflow.WithActivityOptions(ctx, opts)
	t := m.t
	var (
		f      workflow.Future
		decode func(workflow.Future) models.EffectResult
	)
	booking := func(f workflow.Future) models.EffectResult {
		var b activities.Booking
		err := f.Get(ctx, &b)
		return withError(models.EffectResult{BookingID: b.BookingID, TrackingNo: b.TrackingNo}, err)
	}
	receipt := func(f workflow.Future) models.EffectResult {
		var r activities.Receipt
		err := f.Get(ctx, &r)
		return withError(models.EffectResult{Status: r.Status, ProviderRef: r.ProviderRef, Reason: r.Reason}, err)
	}
	plain := func(f workflow.Future) models.EffectResult { return withError(models.EffectResult{}, f.Get(ctx, nil)) }
	switch e.Kind {
	case models.EffectBookPickup, models.EffectBookSwap:
		book := acts.BookPickup
		if e.Kind == models.EffectBookSwap {
			book = acts.BookSwapVisit
		}
		f, decode = workflow.ExecuteActivity(actx, book, activities.PickupRequest{TicketID: t.ID, Address: t.PickupAddress,
			Attempt: e.Attempt, Items: t.Items, ExchangeSKU: t.ExchangeSKU}), booking
	case models.EffectCancelPickup:
		f, decode = workflow.ExecuteActivity(actx, acts.CancelPickup, activities.Booking{BookingID: e.BookingID}, t.ID), plain
	case models.EffectVerifyTracking:
		f = workflow.ExecuteActivity(actx, acts.VerifyTracking, e.Carrier, e.TrackingNo)
		decode = func(f workflow.Future) models.EffectResult {
			var ok bool
			err := f.Get(ctx, &ok)
			return withError(models.EffectResult{Verified: ok}, err)
		}
	case models.EffectShipReplacement:
		f, decode = workflow.ExecuteActivity(actx, acts.ShipReplacement,
			activities.ShipmentRequest{TicketID: t.ID, SKU: t.ExchangeSKU, Address: t.PickupAddress}), booking
	case models.EffectSendToRepair:
		f, decode = workflow.ExecuteActivity(actx, acts.SendToRepair,
			activities.ShipmentRequest{TicketID: t.ID, Items: t.Items, Address: t.PickupAddress}), booking
	case models.EffectMoveMoney:
		f, decode = workflow.ExecuteActivity(actx, acts.MoveMoney, activities.MoneyRequest{Key: e.Key, Purpose: e.Purpose,
			TicketID: t.ID, OrderID: t.OrderID, AmountCents: e.AmountCents, Currency: t.Currency, PaidCents: t.Order.PaidCents}), receipt
	case models.EffectLookupMoney:
		f, decode = workflow.ExecuteActivity(actx, acts.LookupMoney, e.Key), receipt
	case models.EffectStartEscalation:
		m.startEscalation(ctx, e)
		return
	case models.EffectSendEvidence:
		if m.child != nil {
			f, decode = m.child.SignalChildWorkflow(ctx, SignalEvidence, EvidenceSignal{Role: e.Evidence.Role, Note: *e.Evidence}), plain
		}
	case models.EffectEndEscalation:
		// Decided on the ticket (the arbiter's action): the escalation is told the
		// verdict and ends with it; the ticket refuses it as already applied.
		if m.child != nil {
			v := Verdict{Verdict: m.t.Escalation.Verdict, RefundCents: m.t.Escalation.RefundCents}
			f, decode = m.child.SignalChildWorkflow(ctx, SignalArbitrate, v), plain
		}
	}
	if f == nil {
		return
	}
	m.running++
	m.sel.AddFuture(f, func(f workflow.Future) {
		m.running--
		r := decode(f)
		r.Effect = e
		delete(m.busyKeys, string(e.Kind)+" "+e.Key)
		_ = m.apply(ctx, models.Input{Result: &r}) // a result that no longer applies is dropped
		if e.Key != "" {
			// Pace what Decide asks again: a call that gave up, or a lookup that
			// found the key still being paid.
			if i := m.t.Refunds.Find(e.Key); r.Failed || (e.Kind == models.EffectLookupMoney && i >= 0 && models.MoneyInFlight(m.t.Refunds[i].Status)) {
				m.failures[e.Key]++
			} else {
				delete(m.failures, e.Key)
			}
		}
	})
}

// startEscalation starts the platform intervention as a child workflow, which owns
// the evidence and decision deadlines and returns its verdict.
func (m *machine) startEscalation(ctx workflow.Context, e models.Effect) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        fmt.Sprintf("%s-escalation-%d", TicketWorkflowID(m.t.ID), m.t.Escalations),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	})
	in := EscalationInput{TicketID: m.t.ID, EscalatedBy: e.Escalation.By, From: e.Escalation.From,
		EvidenceBy: e.Escalation.EvidenceBy, DecideBy: e.Escalation.DecideBy, BuyerClaimCents: e.Escalation.ClaimCents}
	child := workflow.ExecuteChildWorkflow(cctx, EscalationWorkflow, in)
	m.child = child
	m.running++
	m.sel.AddFuture(child, func(f workflow.Future) {
		m.running--
		var v Verdict
		err := f.Get(ctx, &v)
		if m.child != child {
			return // an earlier escalation: the ticket has been decided since
		}
		m.child = nil
		switch {
		case err != nil:
			r := models.EffectResult{Effect: e, Failed: true, Reason: err.Error()}
			_ = m.apply(ctx, models.Input{Result: &r})
		default:
			_ = m.apply(ctx, models.Input{Verdict: &models.Verdict{Verdict: v.Verdict, RefundCents: v.RefundCents,
				Note: v.Note, Actor: v.Actor, Automatic: v.Automatic}})
		}
	})
}

// sync writes what changed since the last write: the search attributes once per
// state change, and the read model's ticket row with only the new timeline
// entries (ordered by Seq, so retries and late writes change nothing). The write
// runs in a coroutine of its own: a database outage holds up the read model, not
// the ticket's deadlines and effects.
func (m *machine) sync(ctx workflow.Context) {
	if m.t.Seq == m.sent {
		return
	}
	upsertSearch(ctx, m.t, &m.searched)
	delta := m.t
	delta.Timeline = nil
	for _, e := range m.t.Timeline {
		if e.Seq > m.sent {
			delta.Timeline = append(delta.Timeline, e)
		}
	}
	m.sent = m.t.Seq
	workflow.Go(ctx, func(ctx workflow.Context) {
		actx := workflow.WithActivityOptions(ctx, projectionOptions)
		if err := workflow.ExecuteActivity(actx, acts.ProjectTicket, delta).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("projection failed", "ticket", delta.ID, "error", err)
		}
		m.synced = max(m.synced, delta.Seq)
	})
}

// withError marks an effect's result failed when its activity gave up, with the
// error's code (an application error's type, e.g. ECONFLICT from the ledger).
func withError(r models.EffectResult, err error) models.EffectResult {
	if err == nil {
		return r
	}
	r.Failed, r.Reason = true, err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		r.Code, r.Reason = appErr.Type(), appErr.Message()
	}
	return r
}
