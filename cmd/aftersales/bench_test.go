package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// benchJSON runs aftersales bench with args and decodes its last line.
func benchJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := benchTo(context.Background(), args, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("the last line is not one JSON object: %v\n%s", err, out.String())
	}
	return r
}

// TestBenchShortRun: a short `aftersales bench --json` on the embedded stack
// drives every lifecycle to its end, pays no refund twice, and reports every key.
// It asserts correctness only, never speed.
func TestBenchShortRun(t *testing.T) {
	t.Parallel()
	r := benchJSON(t, "--tickets", "20", "--concurrency", "8", "--json")
	for _, k := range []string{"tickets_per_sec", "floor_tickets_per_sec", "ratio_to_floor", "actions_per_ticket", "events_per_ticket",
		"actions_by_kind", "floor_actions_per_ticket", "floor_events_per_ticket", "create_p50_ms", "create_p95_ms", "create_p99_ms",
		"action_p50_ms", "action_p95_ms", "action_p99_ms", "get_p50_ms", "get_p95_ms", "get_p99_ms", "update_p99_ms",
		"floor_update_p99_ms", "update_p99_ratio", "workflow_tasks_per_ticket", "floor_workflow_tasks_per_ticket",
		"lost", "duplicate_refunds", "peak_rss_mb"} {
		if _, ok := r[k]; !ok {
			t.Errorf("the report has no %q", k)
		}
	}
	if r["lost"] != 0.0 || r["duplicate_refunds"] != 0.0 {
		t.Errorf("lost %v, duplicate refunds %v; want 0 and 0 (errors: %v)", r["lost"], r["duplicate_refunds"], r["errors"])
	}
	if r["actions_per_ticket"] == 0.0 || r["floor_tickets_per_sec"] == 0.0 {
		t.Errorf("cost or floor not measured: %v", r)
	}
}

// TestBenchChaos: the worker killed and restarted while tickets run (at the
// first ticket, then every 0.5 to 2 s) loses no ticket and pays no refund twice.
func TestBenchChaos(t *testing.T) {
	t.Parallel()
	r := benchJSON(t, "--tickets", "6", "--concurrency", "3", "--chaos", "--json")
	if r["restarts"] == 0.0 || r["lost"] != 0.0 || r["duplicate_refunds"] != 0.0 {
		t.Errorf("restarts %v, lost %v, duplicate refunds %v; want some, 0 and 0 (errors: %v)", r["restarts"], r["lost"], r["duplicate_refunds"], r["errors"])
	}
}

// TestBenchOpen: a small timer-scale run sees every deadline fire and reports
// its lateness (a figure, never asserted).
func TestBenchOpen(t *testing.T) {
	t.Parallel()
	r := benchJSON(t, "--open", "20", "--open-deadline", "3s", "--concurrency", "4", "--json")
	for _, k := range []string{"open", "fired", "lateness_p50_ms", "lateness_p99_ms", "rss_per_open_kb", "peak_rss_mb"} {
		if _, ok := r[k]; !ok {
			t.Errorf("the report has no %q", k)
		}
	}
	if r["fired"] != 20.0 {
		t.Errorf("%v of 20 deadlines fired (errors: %v)", r["fired"], r["errors"])
	}
}
