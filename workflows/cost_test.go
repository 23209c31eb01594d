package workflows

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// cost is what one recorded run of a workflow costs: its history events and its
// billable actions on Temporal Cloud, counted by the rules in ../shared/TEMPORAL.md
// (start 1, each activity attempt 1, the local activities of one workflow task 1,
// timer 1, signal 1, update 1, search-attribute upsert 1, child start 2, signal
// to another workflow 1). Queries and rejected updates leave no event, so a
// history cannot show them; the API sends neither on these paths.
type cost struct {
	events  int
	actions int
	by      map[string]int // actions by kind
}

func (c cost) String() string {
	kinds := make([]string, 0, len(c.by))
	for k := range c.by {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.by[k]))
	}
	return fmt.Sprintf("%d events, %d billable actions (%s)", c.events, c.actions, strings.Join(parts, ", "))
}

func costOf(h *historypb.History) cost {
	c := cost{events: len(h.Events), by: map[string]int{}}
	add := func(kind string, n int) { c.by[kind] += n; c.actions += n }
	laTasks := map[int64]bool{} // workflow task completions that recorded local activities
	var lastTaskCompleted int64
	for _, e := range h.Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			add("start", 1)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			add("activity attempts", int(e.GetActivityTaskStartedEventAttributes().GetAttempt()))
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			lastTaskCompleted = e.EventId
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" && !laTasks[lastTaskCompleted] {
				laTasks[lastTaskCompleted] = true
				add("local-activity tasks", 1)
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			add("timers", 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			add("signals", 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			add("updates", 1)
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			add("upserts", 1)
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			add("child starts", 2)
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			add("signals sent", 1)
		}
	}
	return c
}

// ticketCostBudget is what the main paths cost today, held as a ceiling: a
// change that adds commands to a path fails here, with its count. The pickup
// return (a reply, approve, picked up, delivered, inspect, refund paid,
// evaluate) spends 31 actions: start 1, updates 5 (sync, reply, approve,
// inspect, evaluate), signals 3, activities 2, timers 6 (one per state's
// deadline and the evaluation window), upserts 5 (one per state change) and 9
// workflow tasks with a projection. The first six kinds alone come to 22.
var ticketCostBudget = map[string]struct{ events, actions int }{
	"ticket_pickup_return_refund.json":    {events: 74, actions: 31},
	"ticket_fast_review_refund_only.json": {events: 32, actions: 13},
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
		c := costOf(hist)
		t.Logf("%-48s %s", name, c)
		if b, ok := ticketCostBudget[name]; ok && (c.events > b.events || c.actions > b.actions) {
			t.Errorf("%s costs %s; the budget is %d events and %d actions", name, c, b.events, b.actions)
		}
	}
}
