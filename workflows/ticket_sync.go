package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// searchState is what the search attributes hold now.
type searchState struct {
	state     models.State
	deadline  time.Time
	escalated bool
	set       bool
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
		actx := workflow.WithLocalActivityOptions(ctx, projectionOptions)
		if err := workflow.ExecuteLocalActivity(actx, acts.ProjectTicket, delta).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("projection failed", "ticket", delta.ID, "error", err)
		}
		m.synced = max(m.synced, delta.Seq)
	})
}

// upsertSearch writes the search attributes an operator filters on when the state,
// the deadline or the escalated flag changed since *last (once per change: each
// upsert is a billable action); the first write adds the fixed ones.
func upsertSearch(ctx workflow.Context, t models.Ticket, last *searchState) {
	now := searchState{state: t.State, escalated: t.Flags.Escalated, set: true}
	if t.Deadline != nil {
		now.deadline = t.Deadline.At
	}
	if now.state == last.state && now.escalated == last.escalated && now.set == last.set && now.deadline.Equal(last.deadline) {
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

// projectionOptions: the projection is a local activity (it runs in the workflow
// task that made the change, and all of a task's local activities cost one
// billable action); it retries until the database is back, and the ticket does
// not wait for it (sync runs it in its own coroutine).
var projectionOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// startedSearch is what the start gave the search attributes: the API sets them
// with the start, so a ticket's first state costs no upsert.
func startedSearch(ctx workflow.Context) searchState {
	sa := workflow.GetTypedSearchAttributes(ctx)
	if _, ok := sa.GetKeyword(SATicketKind); !ok {
		return searchState{}
	}
	state, _ := sa.GetKeyword(SATicketState)
	escalated, _ := sa.GetBool(SAEscalated)
	deadline, _ := sa.GetTime(SASLADeadline)
	return searchState{state: models.State(state), escalated: escalated, deadline: deadline, set: true}
}

// StartSearchAttributes are the search attributes a ticket starts with: the
// ticket in pending_review with its review deadline counted from createdAt,
// as TicketWorkflow will find them.
func StartSearchAttributes(c models.CreateTicket, p models.Policy, createdAt time.Time) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		SATicketState.ValueSet(string(models.StatePendingReview)), SAEscalated.ValueSet(false),
		SATicketKind.ValueSet(string(c.Kind)), SAShopID.ValueSet(c.ShopID), SAOrderID.ValueSet(c.OrderID),
	}
	if _, d, ok := p.StateTimeout(models.StatePendingReview); ok {
		updates = append(updates, SASLADeadline.ValueSet(createdAt.Add(d)))
	}
	return temporal.NewSearchAttributes(updates...)
}
