package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// UpdateSync returns the ticket once everything before it is committed to the read
// model; the API calls it right after starting a ticket.
const UpdateSync = "sync"

// acts names the activities; its methods are only referenced, never called here.
var acts *activities.Activities

// ticketWorkflow is the private state of one TicketWorkflow run.
type ticketWorkflow struct {
	in TicketInput
	p  models.Policy
	t  models.Ticket
	mu workflow.Mutex

	// version changes whenever the state or its deadline does; the main loop re-arms
	// its deadline timer on every change.
	version int
	// seen holds the webhook event ids already applied (signals are deduplicated here).
	seen map[string]bool
	// pendingOutcome is the outcome the ticket completes with once its refund is paid.
	pendingOutcome models.Outcome
	// searched is what was last written to the search attributes.
	searched searchState
	// ledgerRefused is set while a refund the ledger refused is being recorded.
	ledgerRefused bool
	escalations   int
	// created is set once the application is recorded and committed; messages that
	// arrive in the first workflow task wait for it (the SDK may run their handlers
	// before the workflow function).
	created bool
	// escalationChild is the running platform intervention, if any.
	escalationChild workflow.ChildWorkflowFuture
}

type searchState struct {
	state     models.State
	deadline  time.Time
	escalated bool
	set       bool
}

// TicketWorkflow carries one after-sales ticket from application to evaluation.
func TicketWorkflow(ctx workflow.Context, in TicketInput) (models.Ticket, error) {
	w := &ticketWorkflow{in: in, p: in.Policy, seen: map[string]bool{}}
	w.t = models.NewTicket(in.TicketID, in.Create, in.Policy, workflow.Now(ctx))
	if err := w.setup(ctx); err != nil {
		return w.t, err
	}
	return w.run(ctx)
}

// setup registers the query, the updates and the signal receivers.
func (w *ticketWorkflow) setup(ctx workflow.Context) error {
	w.mu = workflow.NewMutex(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryTicket, func() (models.Ticket, error) { return w.t, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAction, w.handleAction,
		workflow.UpdateHandlerOptions{Validator: w.validateAction}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateSync, func(ctx workflow.Context) (models.Ticket, error) {
		if err := w.lock(ctx); err != nil { // waits for any change in flight, including the creation
			return w.t, err
		}
		defer w.mu.Unlock()
		return w.t, nil
	}); err != nil {
		return err
	}
	w.receive(ctx, SignalCourier, func(ctx workflow.Context, c workflow.ReceiveChannel) {
		var ev models.CourierEvent
		c.Receive(ctx, &ev)
		w.locked(ctx, ev.EventID, func() { w.onCourierEvent(ctx, ev) })
	})
	w.receive(ctx, SignalPayment, func(ctx workflow.Context, c workflow.ReceiveChannel) {
		var ev models.PaymentEvent
		c.Receive(ctx, &ev)
		w.locked(ctx, ev.EventID, func() { w.onPaymentEvent(ctx, ev) })
	})
	return nil
}

// receive runs one signal channel's loop in its own workflow goroutine.
func (w *ticketWorkflow) receive(ctx workflow.Context, name string, one func(workflow.Context, workflow.ReceiveChannel)) {
	ch := workflow.GetSignalChannel(ctx, name)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			one(ctx, ch)
		}
	})
}

// locked applies a webhook event once (by event id) under the ticket's mutex.
func (w *ticketWorkflow) locked(ctx workflow.Context, eventID string, apply func()) {
	if w.lock(ctx) != nil {
		return
	}
	defer w.mu.Unlock()
	if eventID != "" && w.seen[eventID] {
		return
	}
	w.seen[eventID] = true
	seq := w.t.Seq
	apply()
	if w.t.Seq != seq {
		w.commit(ctx)
	}
}

// lock takes the ticket's mutex once the ticket is created.
func (w *ticketWorkflow) lock(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return w.created }); err != nil {
		return err
	}
	return w.mu.Lock(ctx)
}

// run creates the ticket, then races the running deadline against every change until
// the ticket ends, then keeps it open for the buyer's evaluation.
func (w *ticketWorkflow) run(ctx workflow.Context) (models.Ticket, error) {
	w.mu.Lock(ctx)
	w.create(ctx)
	w.commit(ctx)
	w.created = true
	w.mu.Unlock()

	for !w.t.State.Terminal() {
		version, dl := w.version, w.t.Deadline
		if dl == nil {
			_ = workflow.Await(ctx, func() bool { return w.version != version })
			continue
		}
		if wait := dl.At.Sub(workflow.Now(ctx)); wait > 0 {
			changed, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return w.version != version })
			if err != nil {
				return w.t, err
			} else if changed {
				continue
			}
		}
		w.mu.Lock(ctx)
		if w.version == version { // nothing moved the deadline while we took the lock
			w.onDeadline(ctx, dl.Name)
			w.commit(ctx)
		}
		w.mu.Unlock()
	}

	if w.t.EndedAt != nil {
		window := w.t.EndedAt.Add(w.p.EvaluationWindow.D()).Sub(workflow.Now(ctx))
		if window > 0 {
			_, _ = workflow.AwaitWithTimeout(ctx, window, func() bool { return w.t.Evaluation != nil })
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.t, err
	}
	return w.t, nil
}

// create records the application and applies fast review.
func (w *ticketWorkflow) create(ctx workflow.Context) {
	w.t.State = "" // the first timeline entry shows the ticket coming into being
	w.transition(ctx, models.StatePendingReview, w.in.Actor, w.in.Role, "create", w.t.Reason, w.in.RequestID)
	if ok, rule := models.FastReviewDecision(w.in.Create, w.p); ok {
		w.t.Flags.FastReviewed = true
		w.t.FastReviewRule = rule
		w.note(ctx, "system", models.RoleSystem, "fast_review", rule, "")
		w.afterApproval(ctx, "system", models.RoleSystem, "")
	}
}

// transition moves the ticket to state to, arms that state's deadline and records
// the change in the timeline.
func (w *ticketWorkflow) transition(ctx workflow.Context, to models.State, actor string, role models.Role, action, note, requestID string) {
	now := workflow.Now(ctx)
	from := w.t.State
	w.t.State = to
	w.t.Deadline = nil
	if name, d, ok := w.p.StateTimeout(to); ok {
		w.t.Deadline = &models.Deadline{Name: name, At: now.Add(d)}
	}
	if to.Terminal() {
		w.t.EndedAt = &now
	}
	w.version++
	w.appendEvent(now, models.Event{Actor: actor, Role: role, Action: action, From: from, To: to, Note: note, RequestID: requestID})
}

// note records an event that does not change the state.
func (w *ticketWorkflow) note(ctx workflow.Context, actor string, role models.Role, action, note, requestID string) {
	w.appendEvent(workflow.Now(ctx), models.Event{Actor: actor, Role: role, Action: action,
		From: w.t.State, To: w.t.State, Note: note, RequestID: requestID})
}

func (w *ticketWorkflow) appendEvent(now time.Time, e models.Event) {
	w.t.Seq++
	e.Seq, e.At = w.t.Seq, now
	w.t.Timeline = append(w.t.Timeline, e)
	w.t.UpdatedAt = now
}

// setDeadline replaces the running deadline (delay reports, re-bookings).
func (w *ticketWorkflow) setDeadline(name string, at time.Time) {
	w.t.Deadline = &models.Deadline{Name: name, At: at}
	w.version++
}

// commit upserts the search attributes when they changed and writes the projection.
func (w *ticketWorkflow) commit(ctx workflow.Context) {
	w.upsertSearchAttributes(ctx)
	actx := workflow.WithActivityOptions(ctx, projectionOptions)
	if err := workflow.ExecuteActivity(actx, acts.ProjectTicket, w.t).Get(actx, nil); err != nil {
		workflow.GetLogger(ctx).Error("projection failed", "ticket", w.t.ID, "error", err)
	}
}

func (w *ticketWorkflow) upsertSearchAttributes(ctx workflow.Context) {
	upsertSearch(ctx, w.t, &w.searched)
}

// upsertSearch writes the search attributes an operator filters on when the state,
// the deadline or the escalated flag changed since *last (once per change: each
// upsert is a billable action); the first write adds the fixed ones.
func upsertSearch(ctx workflow.Context, t models.Ticket, last *searchState) {
	now := searchState{state: t.State, escalated: t.Flags.Escalated, set: true}
	if t.Deadline != nil {
		now.deadline = t.Deadline.At
	}
	if now == *last {
		return
	}
	updates := []temporal.SearchAttributeUpdate{
		SATicketState.ValueSet(string(now.state)), SAEscalated.ValueSet(now.escalated),
	}
	if !last.set {
		updates = append(updates, SATicketKind.ValueSet(string(t.Kind)),
			SAShopID.ValueSet(t.ShopID), SAOrderID.ValueSet(t.OrderID))
	}
	if t.Deadline != nil {
		updates = append(updates, SASLADeadline.ValueSet(now.deadline))
	} else {
		updates = append(updates, SASLADeadline.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Error("search attributes not updated", "error", err)
		return
	}
	*last = now
}

var (
	projectionOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}
	// Provider calls retry without end (a refund must not silently stop), backing off
	// to 10 s so a provider that recovers is used again soon.
	providerOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Second, NonRetryableErrorTypes: []string{models.ECONFLICT, models.EINVALID}},
	}
)
