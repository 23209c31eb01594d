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

// sync writes the search attributes once per state change; the projector
// writes the read model.
func (m *machine) sync(ctx workflow.Context) {
	upsertSearch(ctx, m.t, &m.searched)
}

// project runs for the life of the run and writes what the read model lacks: the
// ticket row and the timeline entries past the last write that succeeded, one
// write at a time, so synced is a watermark (everything up to it is written)
// and changes that come while a write runs go together in the next. It runs in
// a coroutine of its own: a database outage holds up the read model, not the
// ticket's deadlines and effects. A creation the starter wrote counts as synced
// but not as resent: the next write (the next change's, or the one a starter's
// UpdateSync asks for) sends the whole timeline again, idempotently. Since
// creationChange it also waits for the effects' local attempts running: they
// end in the same workflow task, and their results go in the same write (the
// update that asked for them answers with that task either way).
func (m *machine) project(ctx workflow.Context) {
	actx := workflow.WithLocalActivityOptions(ctx, projectionOptions)
	for {
		if err := workflow.Await(ctx, func() bool {
			return (m.t.Seq > m.synced || m.confirm && m.t.Seq > m.resent) && (!m.byStarter || m.localAttempts == 0)
		}); err != nil {
			return // the run is cancelled
		}
		delta := m.t
		delta.Timeline = nil
		for _, e := range m.t.Timeline {
			if e.Seq > m.resent {
				delta.Timeline = append(delta.Timeline, e)
			}
		}
		if err := workflow.ExecuteLocalActivity(actx, acts.ProjectTicket, delta).Get(ctx, nil); err != nil {
			// The local activity's own retries gave up: the database is down.
			// Try again later, whatever changed by then.
			workflow.GetLogger(ctx).Error("projection failed", "ticket", delta.ID, "error", err)
			if workflow.Sleep(ctx, projectionPause) != nil {
				return
			}
			continue
		}
		m.synced, m.resent = delta.Seq, delta.Seq
	}
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
// billable action). It gives up after a few minutes of a database outage; the
// projector then waits projectionPause and writes again, so an outage costs a
// few history events every ten minutes, not every few seconds.
var projectionOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: time.Minute, MaximumAttempts: 8},
}

const projectionPause = 10 * time.Minute

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
