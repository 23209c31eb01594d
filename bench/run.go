package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/aftersales/aftersales/workflows"
)

// Histories reads a workflow's history (the Temporal client), to count its cost.
type Histories interface {
	History(ctx context.Context, workflowID string) (*historypb.History, error)
}

// Payments is the payment provider's own ledger: how many refunds it paid for a
// ticket and their sum, to find duplicate refunds from the provider's side.
type Payments interface {
	PaidRefunds(ticketID string) (n int, cents int64)
}

// Report is what a run measured. With --json it is printed as one object with
// these keys.
type Report struct {
	Tickets     int    `json:"tickets"`
	Concurrency int    `json:"concurrency"`
	Path        string `json:"path"`
	// ProviderLatencyMs: how long each simulated provider call took (--provider-latency);
	// the floor's activities answer at once.
	ProviderLatencyMs float64 `json:"provider_latency_ms"`

	TicketsPerSec      float64 `json:"tickets_per_sec"`
	FloorTicketsPerSec float64 `json:"floor_tickets_per_sec"`
	RatioToFloor       float64 `json:"ratio_to_floor"`

	ActionsPerTicket      float64        `json:"actions_per_ticket"`
	EventsPerTicket       float64        `json:"events_per_ticket"`
	ActionsByKind         map[string]int `json:"actions_by_kind"` // of one ticket, the first measured
	FloorActionsPerTicket float64        `json:"floor_actions_per_ticket"`
	FloorEventsPerTicket  float64        `json:"floor_events_per_ticket"`
	// Workflow tasks per lifecycle: what one server's throughput pays for.
	WorkflowTasksPerTicket      float64 `json:"workflow_tasks_per_ticket"`
	FloorWorkflowTasksPerTicket float64 `json:"floor_workflow_tasks_per_ticket"`

	CreateP50Ms float64 `json:"create_p50_ms"`
	CreateP95Ms float64 `json:"create_p95_ms"`
	CreateP99Ms float64 `json:"create_p99_ms"`
	ActionP50Ms float64 `json:"action_p50_ms"`
	ActionP95Ms float64 `json:"action_p95_ms"`
	ActionP99Ms float64 `json:"action_p99_ms"`
	GetP50Ms    float64 `json:"get_p50_ms"`
	GetP95Ms    float64 `json:"get_p95_ms"`
	GetP99Ms    float64 `json:"get_p99_ms"`

	UpdateP99Ms      float64 `json:"update_p99_ms"`
	FloorUpdateP99Ms float64 `json:"floor_update_p99_ms"`
	UpdateP99Ratio   float64 `json:"update_p99_ratio"`
	FloorCreateP99Ms float64 `json:"floor_create_p99_ms"`

	Restarts         int      `json:"restarts"` // worker restarts of a --chaos run
	Lost             int      `json:"lost"`
	DuplicateRefunds int      `json:"duplicate_refunds"`
	PeakRSSMB        float64  `json:"peak_rss_mb"`
	Errors           []string `json:"errors"` // the first few, for a person to read
}

// Run drives cfg.Tickets lifecycles, then as many floor lifecycles, and reports.
// hist and pay may be nil (a --target run against a stack we did not start):
// cost and duplicate refunds are then not measured, and floor when floor is false.
func Run(ctx context.Context, cfg Config, floor bool, hist Histories, pay Payments) Report {
	r := Report{Tickets: cfg.Tickets, Concurrency: cfg.Concurrency, Path: "pickup_return_refund", Errors: []string{}}
	c := &caller{api: strings.TrimRight(cfg.API, "/"), http: &http.Client{Timeout: 2 * time.Minute}}
	var s samples
	var mu sync.Mutex
	ids := make([]string, 0, cfg.Tickets)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(r.Errors) < 5 {
			r.Errors = append(r.Errors, err.Error())
		}
	}
	chaosDone := make(chan int, 1)
	cctx, stopChaos := context.WithCancel(ctx)
	var firstCreate sync.Once
	created := make(chan struct{})
	s.onCreate = func() { firstCreate.Do(func() { close(created) }) }
	go func() { chaosDone <- chaos(cctx, cfg, created, fail) }()
	elapsed := fanOut(ctx, cfg.Tickets, cfg.Concurrency, func(ctx context.Context, i int) {
		lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		id, ok, err := lifecycle(lctx, c, cfg, &s, i)
		mu.Lock()
		if id != "" {
			ids = append(ids, id)
		}
		if !ok {
			r.Lost++
		}
		mu.Unlock()
		if err != nil {
			fail(err)
		}
	})
	stopChaos()
	r.Restarts = <-chaosDone
	r.TicketsPerSec = float64(cfg.Tickets-r.Lost) / elapsed.Seconds()
	if floor {
		felapsed := fanOut(ctx, cfg.Tickets, cfg.Concurrency, func(ctx context.Context, i int) {
			lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			if err := floorLifecycle(lctx, c, cfg, &s, i); err != nil {
				fail(fmt.Errorf("floor: %w", err))
			}
		})
		r.FloorTicketsPerSec = float64(cfg.Tickets) / felapsed.Seconds()
		r.RatioToFloor = ratio(r.TicketsPerSec, r.FloorTicketsPerSec)
	}
	r.CreateP50Ms, r.CreateP95Ms, r.CreateP99Ms = pcts(&s.create)
	r.ActionP50Ms, r.ActionP95Ms, r.ActionP99Ms = pcts(&s.action)
	r.GetP50Ms, r.GetP95Ms, r.GetP99Ms = pcts(&s.get)
	r.UpdateP99Ms = r.ActionP99Ms
	_, _, r.FloorUpdateP99Ms = pcts(&s.floorUpdate)
	_, _, r.FloorCreateP99Ms = pcts(&s.floorCreate)
	r.UpdateP99Ratio = ratio(r.UpdateP99Ms, r.FloorUpdateP99Ms)

	if hist != nil {
		r.ActionsPerTicket, r.EventsPerTicket, r.WorkflowTasksPerTicket, r.ActionsByKind = costs(ctx, hist, prefixed("ticket-", ids), fail)
		if floor {
			floorIDs := make([]string, cfg.Tickets)
			for i := range floorIDs {
				floorIDs[i] = fmt.Sprintf("floor-%s-%d", cfg.RunID, i)
			}
			r.FloorActionsPerTicket, r.FloorEventsPerTicket, r.FloorWorkflowTasksPerTicket, _ = costs(ctx, hist, floorIDs, fail)
		}
	}
	if pay != nil {
		for _, id := range ids {
			if n, _ := pay.PaidRefunds(id); n > 1 {
				r.DuplicateRefunds += n - 1
			}
		}
	}
	r.PeakRSSMB = peakRSSMB()
	return r
}

// chaos restarts the worker (cfg.Restart) as soon as the first ticket exists,
// then at random moments every 0.5 to 2 s, until ctx ends, and says how often.
func chaos(ctx context.Context, cfg Config, created <-chan struct{}, fail func(error)) int {
	if cfg.Restart == nil {
		return 0
	}
	select {
	case <-ctx.Done():
		return 0
	case <-created:
	}
	n := 0
	for wait := time.Duration(0); ; wait = 500*time.Millisecond + time.Duration(rand.Int64N(int64(1500*time.Millisecond))) {
		select {
		case <-ctx.Done():
			return n
		case <-time.After(wait):
		}
		if err := cfg.Restart(); err != nil {
			fail(fmt.Errorf("chaos: restart the worker: %w", err))
			return n
		}
		n++
	}
}

func prefixed(p string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p + id
	}
	return out
}

// costs averages the billable actions, events and workflow tasks of the
// workflows' histories.
func costs(ctx context.Context, hist Histories, ids []string, fail func(error)) (actions, events, tasks float64, by map[string]int) {
	n := 0
	for _, id := range ids {
		h, err := hist.History(ctx, id)
		if err != nil {
			fail(fmt.Errorf("history of %s: %w", id, err))
			continue
		}
		c := workflows.CostOf(h)
		if by == nil {
			by = c.By
		}
		actions += float64(c.Actions)
		events += float64(c.Events)
		tasks += float64(c.WorkflowTasks)
		n++
	}
	if n == 0 {
		return 0, 0, 0, map[string]int{}
	}
	return actions / float64(n), events / float64(n), tasks / float64(n), by
}

// pcts are the p50, p95 and p99 of a sample in milliseconds.
func pcts(s *sample) (p50, p95, p99 float64) {
	d := slices.Clone(s.d)
	slices.Sort(d)
	return percentileMs(d, 0.50), percentileMs(d, 0.95), percentileMs(d, 0.99)
}

// percentileMs is the p-th percentile (p in 0..1, 1 the maximum) of sorted
// durations, in milliseconds; 0 for none.
func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// peakRSSMB is the process's peak resident memory (VmHWM), 0 where /proc is not.
func peakRSSMB() float64 { return float64(procStatusKB("VmHWM:")) / 1024 }

// rssKB is the process's resident memory now (VmRSS).
func rssKB() int64 { return procStatusKB("VmRSS:") }

func procStatusKB(field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
