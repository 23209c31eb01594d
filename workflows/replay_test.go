package workflows

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Replay tests. The histories under testdata/ were recorded from a real Temporal
// server (go.temporal.io/server/temporaltest, in process) running every row of
// DESIGN.md §2's state table, every deadline path and every money rule with the
// in-memory fakes (the scripts are in record_test.go):
//
//	AFTERSALES_RECORD_HISTORIES=1 go test ./workflows/ -run TestRecordHistories -count=1 -v -parallel 16
//
// TestReplayHistories replays every committed file with worker.NewWorkflowReplayer,
// so a change to the workflow code that would break running tickets (a command
// added, removed or reordered without versioning) fails here. Each directory of
// historyDirs holds the whole set as one release of the code recorded it: tickets
// started before an upgrade are still running when it lands.

const recordEnv = "AFTERSALES_RECORD_HISTORIES"

// historyDirs: testdata holds what today's code records; the others what earlier
// releases did, kept as they were, each named in the Before of the change it
// came before (versions.go); testdata/histories.sum holds them all unchanged.
var historyDirs = []string{
	"testdata",
	// Before RulesLines (moneyRulesChange version 2, creationChange version 3):
	// revisions and offers bounded by the order's paid amount only.
	"testdata/before-lines",
	// Before eventsFirstChange: an action sent with the read model ahead of the
	// history was decided before the events of its workflow task.
	"testdata/before-events-first",
	// Before moneyRulesChange: tickets under the money rules before
	// models.RulesMoneyAnchored, whose runs end at the evaluation window.
	"testdata/before-money-rules",
	// Before creationChange: the create an update-with-start whose run wrote the
	// created ticket to the read model in its first workflow task.
	"testdata/lean-v1",
	// Before leanChange: a timer per state, cancelled when the state changed, and
	// every effect an activity.
	"testdata/one-timer-per-state",
}

// recordedHistories names every history file the replay test requires, and the
// workflow type it holds.
var recordedHistories = map[string]string{
	// The state table's actions and courier events.
	"ticket_pickup_return_refund.json":         "TicketWorkflow",
	"ticket_lightning_refund.json":             "TicketWorkflow",
	"ticket_lightning_self_ship.json":          "TicketWorkflow",
	"ticket_escalation_verdict.json":           "TicketWorkflow",
	"escalation_child_verdict.json":            "EscalationWorkflow",
	"ticket_swap_on_delivery.json":             "TicketWorkflow",
	"ticket_swap_failed_self_ship.json":        "TicketWorkflow",
	"ticket_exchange.json":                     "TicketWorkflow",
	"ticket_exchange_dearer.json":              "TicketWorkflow",
	"ticket_repair.json":                       "TicketWorkflow",
	"ticket_escalate_from_repairing.json":      "TicketWorkflow",
	"ticket_fast_review_refund_only.json":      "TicketWorkflow",
	"ticket_price_protection.json":             "TicketWorkflow",
	"ticket_pickup_failed_self_ship.json":      "TicketWorkflow",
	"ticket_delivered_before_pickup.json":      "TicketWorkflow",
	"ticket_offer_keep_item.json":              "TicketWorkflow",
	"ticket_offer_declined_then_return.json":   "TicketWorkflow",
	"ticket_offer_after_reject_escalated.json": "TicketWorkflow",
	"ticket_revise_after_reject.json":          "TicketWorkflow",
	"ticket_cancel_pending_review.json":        "TicketWorkflow",
	"ticket_cancel_awaiting_pickup.json":       "TicketWorkflow",
	"ticket_inspect_fail_overruled.json":       "TicketWorkflow",
	"ticket_inspect_deduct.json":               "TicketWorkflow",
	"ticket_inspect_lines.json":                "TicketWorkflow",
	"ticket_freight_insurance.json":            "TicketWorkflow",
	"ticket_report_delay.json":                 "TicketWorkflow",
	// The "on timeout" column.
	"ticket_timeout_review.json":              "TicketWorkflow",
	"ticket_timeout_offer_response.json":      "TicketWorkflow",
	"ticket_timeout_appeal.json":              "TicketWorkflow",
	"ticket_timeout_pickup.json":              "TicketWorkflow",
	"ticket_timeout_ship.json":                "TicketWorkflow",
	"ticket_timeout_arrive_escalated.json":    "TicketWorkflow",
	"ticket_timeout_arrive_recovered.json":    "TicketWorkflow",
	"ticket_recovery_goods_arrive.json":       "TicketWorkflow",
	"ticket_timeout_recover_written_off.json": "TicketWorkflow",
	"ticket_timeout_inspect.json":             "TicketWorkflow",
	"ticket_timeout_refund_lookup.json":       "TicketWorkflow",
	"ticket_timeout_refund_escalated.json":    "TicketWorkflow",
	"ticket_timeout_confirm.json":             "TicketWorkflow",
	"ticket_timeout_repair_auto_verdict.json": "TicketWorkflow",
	"escalation_child_nobody_answered.json":   "EscalationWorkflow",
	// The money rules.
	"ticket_refund_failed_new_key.json":        "TicketWorkflow",
	"ticket_late_success_overpayment.json":     "TicketWorkflow",
	"ticket_refund_failed_capped_verdict.json": "TicketWorkflow",
	"escalation_child_auto_verdict.json":       "EscalationWorkflow",
	// The delayed-shipment watch.
	"shipping_watch_compensation.json":         "ShippingWatchWorkflow",
	"shipping_watch_compensation_by_shop.json": "ShippingWatchWorkflow",
	"shipping_watch_shipped.json":              "ShippingWatchWorkflow",
}

// registerWorkflows registers the workflows under the names worker/worker.go uses.
func registerWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(TicketWorkflow, workflow.RegisterOptions{Name: "TicketWorkflow"})
	r.RegisterWorkflowWithOptions(EscalationWorkflow, workflow.RegisterOptions{Name: "EscalationWorkflow"})
	r.RegisterWorkflowWithOptions(ShippingWatchWorkflow, workflow.RegisterOptions{Name: "ShippingWatchWorkflow"})
}

// recordedNames returns the files of recordedHistories in a stable order.
func recordedNames() []string {
	names := make([]string, 0, len(recordedHistories))
	for n := range recordedHistories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// recordedSince names histories of paths no earlier release could take (their
// input names a field it did not have), with the oldest directory holding them:
// directories after it in historyDirs do not.
var recordedSince = map[string]string{
	// A watch whose id and keys name its shop (ShippingWatchInput.NamedByShop).
	"shipping_watch_compensation_by_shop.json": "testdata/before-events-first",
	// An exchange at another price (ActionBody.ExchangeUnitCents).
	"ticket_exchange_dearer.json": "testdata",
	// An inspection counted by line (ActionBody.Lines).
	"ticket_inspect_lines.json": "testdata/before-lines",
}

// releasedBefore: dir is a release older than the one that first recorded name.
func releasedBefore(dir, name string) bool {
	first, ok := recordedSince[name]
	return ok && slices.Index(historyDirs, dir) > slices.Index(historyDirs, first)
}

func TestReplayHistories(t *testing.T) {
	for _, dir := range historyDirs {
		for _, name := range recordedNames() {
			if releasedBefore(dir, name) {
				continue
			}
			t.Run(filepath.Join(dir, name), func(t *testing.T) { replayFile(t, dir, name) })
		}
	}
}

func replayFile(t *testing.T, dir, name string) {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("history %s missing (record it with %s=1): %v", path, recordEnv, err)
	}
	hist, err := client.HistoryFromJSON(mustOpen(t, path), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(hist.Events) < 3 {
		t.Fatalf("%s holds %d events", path, len(hist.Events))
	}
	start := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if start == nil || start.WorkflowType.GetName() != recordedHistories[name] {
		t.Fatalf("%s starts %v, want a %s", path, hist.Events[0].EventType, recordedHistories[name])
	}
	last := hist.Events[len(hist.Events)-1].EventType
	if last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Errorf("%s ends with %s, want a completed workflow", path, last)
	}
	r := worker.NewWorkflowReplayer()
	registerWorkflows(r)
	if err := r.ReplayWorkflowHistory(testLogger{t}, hist); err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	// The file API the operators' runbook uses reads the same file.
	if err := r.ReplayWorkflowHistoryFromJSONFile(testLogger{t}, path); err != nil {
		t.Fatalf("replay %s from file: %v", path, err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
