package workflows

import (
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// Cost is what one run of a workflow costs: its history events and its
// billable actions on Temporal Cloud, counted by the rules in ../shared/TEMPORAL.md
// (start 1, each activity attempt 1, the local activities of one workflow task 1,
// timer 1, signal 1, update 1, search-attribute upsert 1, child start 2, signal
// to another workflow 1). Queries and rejected updates leave no event, so a
// history cannot show them; the API sends neither on these paths.
type Cost struct {
	Events  int            `json:"events"`
	Actions int            `json:"actions"`
	By      map[string]int `json:"by"` // actions by kind
	// WorkflowTasks is how many workflow tasks a worker started (completed,
	// failed or timed out): not billed, but each is a round trip through the
	// server's matching and writes to its store, which is what throughput on one
	// server pays for.
	WorkflowTasks int `json:"workflow_tasks"`
}

func (c Cost) String() string {
	kinds := make([]string, 0, len(c.By))
	for k := range c.By {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.By[k]))
	}
	return fmt.Sprintf("%d events, %d billable actions (%s)", c.Events, c.Actions, strings.Join(parts, ", "))
}

// CostOf counts a history (a recorded file, or one read from the server).
func CostOf(h *historypb.History) Cost {
	c := Cost{Events: len(h.Events), By: map[string]int{}}
	add := func(kind string, n int) { c.By[kind] += n; c.Actions += n }
	laTasks := map[int64]bool{} // workflow task completions that recorded local activities
	var lastTaskCompleted int64
	for _, e := range h.Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			add("start", 1)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			add("activity attempts", int(e.GetActivityTaskStartedEventAttributes().GetAttempt()))
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			c.WorkflowTasks++
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
