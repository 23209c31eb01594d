package workflows

import (
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// ticketCostBudget is what the main paths cost today, held as a ceiling: a
// change that adds commands to a path fails here, with its count. The pickup
// return (a reply, approve, picked up, delivered, inspect, refund paid,
// evaluate) spends 57 events and 23 actions. The money rules (creationChange
// version 2) keep the run after the end for late_money_window: one timer more
// (1 action, 6 events: its start, its firing and the workflow task that ends
// the run); before them it spent 51 events and 22 actions: start 1 (the API writes the
// created ticket to the read model itself: no update, no projection in the
// first workflow task; a projection waits for the local attempts of its task),
// updates 4 (reply, approve, inspect, evaluate), signals 3, timers 1 (the
// review deadline's timer, kept while each later deadline falls after it),
// upserts 6 (one per state change and the version marker's) and 7 workflow
// tasks with local activities (the projection, and the booking and the refund,
// each tried first as a local activity). It spent 59 events and 24 actions
// with a sync update at the start (testdata/lean-v1), and 74 events and 31
// actions with a timer per state and every effect an activity
// (testdata/one-timer-per-state).
var ticketCostBudget = map[string]struct{ events, actions int }{
	"ticket_pickup_return_refund.json":    {events: 57, actions: 23},
	"ticket_fast_review_refund_only.json": {events: 29, actions: 11},
}

// TestTicketCost prints the cost of every recorded path and holds the main
// paths to their budget. The counts are deterministic: they come from the
// recorded histories, not from a clock.
func TestTicketCost(t *testing.T) {
	for _, name := range recordedNames() {
		hist, err := client.HistoryFromJSON(mustOpen(t, filepath.Join("testdata", name)), client.HistoryJSONOptions{})
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		c := CostOf(hist)
		t.Logf("%-48s %s", name, c)
		if b, ok := ticketCostBudget[name]; ok && (c.Events > b.events || c.Actions > b.actions) {
			t.Errorf("%s costs %s; the budget is %d events and %d actions", name, c, b.events, b.actions)
		}
	}
}

// TestCostCountsEveryWorkflowTask: a workflow task that failed or timed out
// cost the server its round trip too, so it counts.
func TestCostCountsEveryWorkflowTask(t *testing.T) {
	var h historypb.History
	for _, typ := range []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
	} {
		h.Events = append(h.Events, &historypb.HistoryEvent{EventId: int64(len(h.Events) + 1), EventType: typ})
	}
	if c := CostOf(&h); c.WorkflowTasks != 3 || c.Actions != 1 || c.Events != 11 {
		t.Errorf("CostOf = %d workflow tasks, %d actions, %d events; want 3, 1 (the start), 11", c.WorkflowTasks, c.Actions, c.Events)
	}
}
