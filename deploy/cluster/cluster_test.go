package cluster

// TestCluster drives a running cluster that deploy/cluster/up.sh brought up (Temporal
// as four service processes on PostgreSQL, MariaDB, two api, two worker and one
// providers process). It is skipped unless AFTERSALES_CLUSTER_ENV names that
// cluster's cluster.env, so `go test ./...` passes it by; deploy/cluster/run.sh
// brings a cluster up, runs it and takes the cluster down.
//
//  1. scenarios: tickets of several kinds and paths, through both APIs (pickup
//     return, self-shipped return, swap on delivery, lightning refund, escalation
//     with a verdict and one left open, a delay report);
//  2. faults: `aftersales bench --target` through both APIs at once, phase after
//     phase, and in each phase one process of the cluster is sent SIGKILL or SIGTERM
//     while its tickets are in flight, then started again: a worker, an API, the
//     providers, and Temporal's history, matching and frontend services. Each
//     phase's bench reports lost tickets and duplicate refunds from the providers'
//     ledger; the table of phases is logged and written to fault-table.md;
//  3. ledger: every refund the payment provider's own ledger holds, against the read
//     model (MariaDB): at most one paid refund per ticket, the same keys, amounts and
//     statuses on both sides, refunded_cents equal to what the provider paid;
//  4. visibility: the README's Web UI queries find the tickets.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// cluster is what cluster.env says, and the parties' keys.
type cluster struct {
	env    map[string]string
	apis   [2]string
	keys   map[models.Role]string
	runID  string
	client *http.Client
	seq    int
	mu     sync.Mutex

	// Scenario tickets by the state each ended in (or waits in).
	scenario map[string]models.State
}

func TestCluster(t *testing.T) {
	path := os.Getenv("AFTERSALES_CLUSTER_ENV")
	if path == "" {
		t.Skip("set AFTERSALES_CLUSTER_ENV to a running cluster's cluster.env (deploy/cluster/run.sh does)")
	}
	c := &cluster{env: readEnv(t, path), keys: map[models.Role]string{}, client: &http.Client{Timeout: time.Minute},
		runID: time.Now().UTC().Format("150405"), scenario: map[string]models.State{}}
	c.apis = [2]string{c.get(t, "API_1"), c.get(t, "API_2")}
	raw, err := os.ReadFile(c.get(t, "KEYS_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []api.Key
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		c.keys[k.Role] = k.Key
	}
	for _, a := range c.apis {
		if code := c.call(t, a, http.MethodGet, "/readyz", "", nil, nil, ""); code != http.StatusOK {
			t.Fatalf("%s/readyz: %d; is the cluster up?", a, code)
		}
	}
	t.Run("scenarios", c.scenarios)
	t.Run("faults", c.faults)
	t.Run("ledger", c.ledger)
	t.Run("visibility", c.visibility)
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: cannot read %q", path, line)
		}
		env[k] = strings.Trim(v, "'")
	}
	return env
}

func (c *cluster) get(t *testing.T, k string) string {
	t.Helper()
	v := c.env[k]
	if v == "" {
		t.Fatalf("cluster.env has no %s", k)
	}
	return v
}

func (c *cluster) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return c.seq
}

// call sends one JSON request and decodes a JSON answer; it returns the status (0
// when the request did not reach the server).
func (c *cluster) call(t *testing.T, base, method, path, key string, body, out any, idem string) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := c.client.Do(req)
	if err != nil {
		t.Logf("%s %s%s: %v", method, base, path, err)
		return 0
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Logf("%s %s%s: %d %s", method, base, path, res.StatusCode, bytes.TrimSpace(answer))
		return res.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// waitUntil polls check until it holds. It gives up after waitBound (or near the
// test's deadline) and says what it last saw: a cluster that recovered does so
// long before.
func waitUntil(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	if d, ok := t.Deadline(); ok && d.Add(-15*time.Second).Before(deadline) {
		deadline = d.Add(-15 * time.Second)
	}
	last := ""
	for time.Now().Before(deadline) {
		var done bool
		if done, last = check(); done {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached in %s; last seen: %s", what, waitBound, last)
}

// waitBound bounds every wait of the test.
const waitBound = 3 * time.Minute

// ---------------------------------------------------------------------------
// Scenarios.

// party is one side of a scenario, on one of the two APIs.
type party struct {
	c   *cluster
	t   *testing.T
	api string
}

// order registers a paid, delivered order of one line for buyer, as the shop's
// order system would (the seller's PUT).
func (p party) order(buyer string, paid int64) string {
	id := fmt.Sprintf("cl-%s-%d", p.c.runID, p.c.next())
	now := time.Now().UTC()
	body := map[string]any{"shop_id": "shop-1", "buyer_id": buyer, "paid_cents": paid, "currency": "CNY",
		"paid_at": now.Add(-72 * time.Hour).Format(time.RFC3339), "shipped_at": now.Add(-60 * time.Hour).Format(time.RFC3339),
		"delivered_at": now.Add(-24 * time.Hour).Format(time.RFC3339),
		"items":        []map[string]any{{"sku": "CL-1", "qty": 1, "unit_paid_cents": paid}}}
	if code := p.c.call(p.t, p.api, http.MethodPut, "/v1/orders/"+id, p.c.keys[models.RoleSeller], body, nil, id+":order"); code/100 != 2 {
		p.t.Fatalf("register order %s: %d", id, code)
	}
	return id
}

// create opens a ticket as the buyer for a new order of paid cents.
func (p party) create(paid int64, body map[string]any) models.Ticket {
	order := p.order("buyer-1", paid)
	body["order_id"], body["shop_id"], body["buyer_id"], body["currency"] = order, "shop-1", "buyer-1", "CNY"
	body["items"] = []map[string]any{{"sku": "CL-1", "qty": 1, "unit_paid_cents": paid}}
	if body["reason_code"] == nil {
		body["reason_code"] = "quality"
	}
	var tk models.Ticket
	if code := p.c.call(p.t, p.api, http.MethodPost, "/v1/tickets", p.c.keys[models.RoleBuyer], body, &tk, order+":create"); code != http.StatusCreated {
		p.t.Fatalf("create for %s: %d", order, code)
	}
	return tk
}

func (p party) act(role models.Role, id, action string, body any) models.Ticket {
	p.t.Helper()
	var tk models.Ticket
	if code := p.c.call(p.t, p.api, http.MethodPost, "/v1/tickets/"+id+"/"+action, p.c.keys[role], body, &tk,
		fmt.Sprintf("%s:%s:%d", id, action, p.c.next())); code != http.StatusOK {
		p.t.Fatalf("ticket %s: %s by %s: %d", id, action, role, code)
	}
	return tk
}

// await polls the ticket on this API until ok holds; a ticket that ends
// otherwise fails at once.
func (p party) await(id, what string, ok func(models.Ticket) bool) models.Ticket {
	p.t.Helper()
	var tk models.Ticket
	waitUntil(p.t, "ticket "+id+": "+what, func() (bool, string) {
		tk = models.Ticket{}
		p.c.call(p.t, p.api, http.MethodGet, "/v1/tickets/"+id, p.c.keys[models.RolePlatform], nil, &tk, "")
		if ok(tk) {
			return true, ""
		}
		if tk.State.Terminal() {
			p.t.Fatalf("ticket %s ended %s/%s before %s", id, tk.State, tk.Outcome, what)
		}
		return false, fmt.Sprintf("%s, refunded %d", tk.State, tk.RefundedCents)
	})
	return tk
}

func (p party) awaitState(id string, s models.State) models.Ticket {
	p.t.Helper()
	return p.await(id, string(s), func(tk models.Ticket) bool { return tk.State == s })
}

func (c *cluster) ended(id string, s models.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scenario[id] = s
}

// scenarios run at once, each with its parties on both APIs: the buyer on one, the
// seller and the platform on the other.
func (c *cluster) scenarios(t *testing.T) {
	rows := []struct {
		name string
		run  func(t *testing.T, a, b party)
	}{
		{"pickup return, refund, evaluation", c.pickup},
		{"self-shipped return", c.selfShip},
		{"swap on delivery", c.swap},
		{"lightning refund at pickup", c.lightning},
		{"escalation decided for the buyer", c.escalationVerdict},
		{"escalation left open", c.escalationOpen},
		{"delay report, then a return", c.delayReport},
	}
	var wg sync.WaitGroup
	for i, r := range rows {
		wg.Go(func() {
			t.Run(r.name, func(t *testing.T) {
				a, b := party{c, t, c.apis[i%2]}, party{c, t, c.apis[(i+1)%2]}
				r.run(t, a, b)
			})
		})
	}
	wg.Wait()
}

func (c *cluster) pickup(t *testing.T, a, b party) {
	tk := a.create(59900, map[string]any{"kind": "return_refund", "return_method": "pickup", "pickup_address": "1 Cluster Road",
		"requested_cents": 59900, "reason": "screen flickers"})
	b.act(models.RoleSeller, tk.ID, "approve", map[string]any{})
	b.awaitState(tk.ID, models.StateAwaitingInspection) // the courier picked up and delivered
	b.act(models.RoleSeller, tk.ID, "inspect", map[string]any{"result": "pass"})
	tk = a.awaitState(tk.ID, models.StateCompleted) // the provider paid
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 59900 || tk.Flags.LightningRefund {
		t.Errorf("completed %s refunded %d lightning %v", tk.Outcome, tk.RefundedCents, tk.Flags.LightningRefund)
	}
	tk = a.act(models.RoleBuyer, tk.ID, "evaluate", map[string]any{"score": 5, "comment": "quick"})
	if tk.Evaluation == nil || tk.Evaluation.Score != 5 {
		t.Errorf("evaluation %+v", tk.Evaluation)
	}
	c.ended(tk.ID, models.StateCompleted)
}

func (c *cluster) selfShip(t *testing.T, a, b party) {
	tk := a.create(30000, map[string]any{"kind": "return_refund", "return_method": "self_ship", "requested_cents": 30000,
		"reason": "does not fit", "reason_code": "no_reason"})
	tk = b.act(models.RoleSeller, tk.ID, "approve", map[string]any{})
	if tk.State != models.StateAwaitingBuyerShipment {
		t.Fatalf("after approve: %s", tk.State)
	}
	tk = a.act(models.RoleBuyer, tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": "SF" + tk.ID})
	if tk.State != models.StateInTransit {
		t.Fatalf("after ship: %s", tk.State)
	}
	b.awaitState(tk.ID, models.StateAwaitingInspection) // the subscribed parcel was delivered
	b.act(models.RoleSeller, tk.ID, "inspect", map[string]any{"result": "pass"})
	tk = a.awaitState(tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 30000 {
		t.Errorf("completed %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	c.ended(tk.ID, models.StateCompleted)
}

func (c *cluster) swap(t *testing.T, a, b party) {
	tk := a.create(45000, map[string]any{"kind": "exchange", "return_method": "swap_on_delivery", "exchange_sku": "CL-1-L",
		"pickup_address": "2 Cluster Road", "reason": "dented", "reason_code": "damaged"})
	tk = b.act(models.RoleSeller, tk.ID, "approve", map[string]any{})
	if tk.State != models.StateAwaitingPickup {
		t.Fatalf("after approve: %s", tk.State)
	}
	tk = a.awaitState(tk.ID, models.StateCompleted) // the courier swapped at the door
	if tk.Outcome != models.OutcomeSwapped || len(tk.Refunds) != 0 {
		t.Errorf("completed %s refunds %+v", tk.Outcome, tk.Refunds)
	}
	c.ended(tk.ID, models.StateCompleted)
}

// lightning: a buyer the platform rates 3 stars, opened by the platform (which
// states the order and the credit); refunded when the courier picks up.
func (c *cluster) lightning(t *testing.T, a, b party) {
	buyer := fmt.Sprintf("buyer-rated-%s-%d", c.runID, c.next())
	order := a.order(buyer, 60000)
	body := map[string]any{"order_id": order, "shop_id": "shop-1", "buyer_id": buyer, "currency": "CNY", "buyer_credit": 3,
		"kind": "return_refund", "return_method": "pickup", "pickup_address": "3 Cluster Road", "requested_cents": 60000,
		"reason_code": "quality", "reason": "stopped working",
		"items": []map[string]any{{"sku": "CL-1", "qty": 1, "unit_paid_cents": 60000}}}
	var tk models.Ticket
	if code := c.call(t, a.api, http.MethodPost, "/v1/tickets", c.keys[models.RolePlatform], body, &tk, order+":create"); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	b.act(models.RoleSeller, tk.ID, "approve", map[string]any{})
	tk = a.awaitState(tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 60000 || !tk.Flags.LightningRefund || len(tk.Refunds) != 1 {
		t.Errorf("completed %s refunded %d lightning %v refunds %+v", tk.Outcome, tk.RefundedCents, tk.Flags.LightningRefund, tk.Refunds)
	}
	c.ended(tk.ID, models.StateCompleted)
}

func (c *cluster) escalationVerdict(t *testing.T, a, b party) {
	tk := a.create(50000, map[string]any{"kind": "refund_only", "requested_cents": 50000, "reason": "arrived broken"})
	b.act(models.RoleSeller, tk.ID, "reject", map[string]any{"reason": "photos show no defect"})
	tk = a.act(models.RoleBuyer, tk.ID, "escalate", map[string]any{"reason": "it arrived like that"})
	if tk.State != models.StateEscalated || tk.Deadline == nil || tk.Deadline.Name != "evidence_by" {
		t.Fatalf("after escalate: %s %+v", tk.State, tk.Deadline)
	}
	a.act(models.RoleBuyer, tk.ID, "evidence", map[string]any{"note": "unboxing video", "urls": []string{"https://example.invalid/v.mp4"}})
	tk = b.act(models.RolePlatform, tk.ID, "arbitrate", map[string]any{"verdict": "support_buyer", "refund_cents": 20000, "note": "partly damaged"})
	if tk.State != models.StateRefunding {
		t.Fatalf("after the verdict: %s", tk.State)
	}
	tk = a.awaitState(tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomePartiallyRefunded || tk.RefundedCents != 20000 {
		t.Errorf("completed %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	c.ended(tk.ID, models.StateCompleted)
}

// escalationOpen stays escalated: the README's query for escalated tickets of a
// shop finds it.
func (c *cluster) escalationOpen(t *testing.T, a, b party) {
	tk := a.create(25000, map[string]any{"kind": "refund_only", "requested_cents": 25000, "reason": "never arrived", "reason_code": "not_received"})
	b.act(models.RoleSeller, tk.ID, "reject", map[string]any{"reason": "tracking says delivered"})
	tk = a.act(models.RoleBuyer, tk.ID, "escalate", map[string]any{"reason": "nothing in the mailbox"})
	if tk.State != models.StateEscalated || !tk.Flags.Escalated {
		t.Fatalf("after escalate: %s %+v", tk.State, tk.Flags)
	}
	c.ended(tk.ID, models.StateEscalated)
}

func (c *cluster) delayReport(t *testing.T, a, b party) {
	tk := a.create(35000, map[string]any{"kind": "return_refund", "return_method": "pickup", "pickup_address": "4 Cluster Road",
		"requested_cents": 35000, "reason": "wrong colour", "reason_code": "wrong_item"})
	if tk.Deadline == nil || tk.Deadline.Name != "review_by" {
		t.Fatalf("created with deadline %+v", tk.Deadline)
	}
	before := tk.Deadline.At
	tk = b.act(models.RoleSeller, tk.ID, "report_delay", map[string]any{"reason": "warehouse stocktake", "extend": "24h"})
	if !tk.Flags.ExcludedFromAssessment || tk.Deadline == nil || !tk.Deadline.At.Equal(before.Add(24*time.Hour)) {
		t.Fatalf("after report_delay: flags %+v deadline %+v (was %s)", tk.Flags, tk.Deadline, before)
	}
	b.act(models.RoleSeller, tk.ID, "approve", map[string]any{})
	a.awaitState(tk.ID, models.StateAwaitingInspection)
	b.act(models.RoleSeller, tk.ID, "inspect", map[string]any{"result": "pass"})
	tk = a.awaitState(tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 35000 || !tk.Flags.ExcludedFromAssessment {
		t.Errorf("completed %s refunded %d flags %+v", tk.Outcome, tk.RefundedCents, tk.Flags)
	}
	c.ended(tk.ID, models.StateCompleted)
}

// ---------------------------------------------------------------------------
// Faults.

// fault is one phase: the process sent sig while the benches run (none: a
// phase without a fault, the baseline).
type fault struct{ proc, sig string }

// benchReport is what the phase reads of `aftersales bench --json`.
type benchReport struct {
	Tickets          int     `json:"tickets"`
	TicketsPerSec    float64 `json:"tickets_per_sec"`
	ActionP99Ms      float64 `json:"action_p99_ms"`
	Lost             int     `json:"lost"`
	DuplicateRefunds int     `json:"duplicate_refunds"`
	// The cost per ticket, counted from the cluster's histories (--cost).
	ActionsPerTicket float64  `json:"actions_per_ticket"`
	EventsPerTicket  float64  `json:"events_per_ticket"`
	Errors           []string `json:"errors"`
}

type phaseRow struct {
	fault
	tickets, lost, dups int
	down, seconds       float64
	rate, p99           float64
	actions, events     float64 // per ticket, averaged over the phase's benches
}

func (c *cluster) faults(t *testing.T) {
	phases := []fault{{"", ""},
		{"worker-1", "KILL"}, {"worker-2", "TERM"},
		{"api-1", "KILL"}, {"api-2", "TERM"},
		{"providers", "KILL"}, {"providers", "TERM"},
		{"temporal-history", "KILL"}, {"temporal-history", "TERM"},
		{"temporal-matching", "KILL"}, {"temporal-matching", "TERM"},
		{"temporal-frontend", "KILL"}, {"temporal-frontend", "TERM"},
	}
	if only := os.Getenv("AFTERSALES_CLUSTER_FAULTS"); only != "" { // e.g. "temporal-history:KILL,api-1:TERM"
		phases = phases[:1]
		for _, f := range strings.Split(only, ",") {
			p, s, _ := strings.Cut(f, ":")
			phases = append(phases, fault{p, s})
		}
	}
	perBench := 16
	if n := os.Getenv("AFTERSALES_CLUSTER_BENCH_TICKETS"); n != "" {
		fmt.Sscan(n, &perBench)
	}
	var rows []phaseRow
	for _, f := range phases {
		name := "no fault"
		if f.proc != "" {
			name = f.proc + " SIG" + f.sig
		}
		ok := t.Run(name, func(t *testing.T) { rows = append(rows, c.phase(t, f, perBench)) })
		if !ok && f.proc != "" && !c.allUp(t) {
			t.Errorf("the cluster did not recover from %s SIG%s: the phases after it are not run", f.proc, f.sig)
			break
		}
	}
	table := faultTable(rows)
	t.Log("\n" + table)
	if err := os.WriteFile(filepath.Join(c.get(t, "RUN_DIR"), "fault-table.md"), []byte(table), 0o644); err != nil {
		t.Error(err)
	}
}

// phase runs one bench through each API at once; once the provider has been paid
// for some of them (tickets are in flight at every stage), the fault strikes and
// the process is started again.
func (c *cluster) phase(t *testing.T, f fault, perBench int) phaseRow {
	row := phaseRow{fault: f}
	paidBefore := len(c.ledgerRecords(t, ""))
	start := time.Now()
	reports := make([]benchReport, len(c.apis))
	var wg sync.WaitGroup
	for i, a := range c.apis {
		wg.Go(func() { reports[i] = c.bench(t, a, perBench) })
	}
	benched := make(chan struct{})
	go func() { wg.Wait(); close(benched) }()
	defer func() { <-benched }() // a phase that fails still lets its benches end
	if f.proc != "" {
		waitUntil(t, "the phase's first refunds at the provider", func() (bool, string) {
			select {
			case <-benched:
				t.Fatalf("the benches ended before the fault could strike: raise AFTERSALES_CLUSTER_BENCH_TICKETS")
			default:
			}
			n := len(c.ledgerRecords(t, ""))
			return n >= paidBefore+2, fmt.Sprintf("%d payments, %d before the phase", n, paidBefore)
		})
		t0 := time.Now()
		t.Log(c.proc(t, "signal", f.proc, f.sig))
		t.Log(c.proc(t, "start", f.proc))
		row.down = time.Since(t0).Seconds()
	}
	wg.Wait()
	row.seconds = time.Since(start).Seconds()
	for _, r := range reports {
		row.tickets += r.Tickets
		row.lost += r.Lost
		row.dups += r.DuplicateRefunds
		row.rate += r.TicketsPerSec
		row.p99 = max(row.p99, r.ActionP99Ms)
		row.actions += r.ActionsPerTicket / float64(len(reports))
		row.events += r.EventsPerTicket / float64(len(reports))
		for _, e := range r.Errors {
			t.Logf("bench error: %s", e)
		}
	}
	if row.lost != 0 || row.dups != 0 {
		t.Errorf("%+v: lost %d, duplicate refunds %d", f, row.lost, row.dups)
	}
	if f.proc == "" && (row.actions == 0 || row.events == 0) {
		// Under a fault a history may be unreadable as the bench ends; without one it must be counted.
		t.Errorf("the cost per ticket was not counted from the cluster's histories (%.1f actions, %.1f events)", row.actions, row.events)
	}
	return row
}

// allUp says whether every process of the cluster runs (proc.sh status).
func (c *cluster) allUp(t *testing.T) bool {
	out := c.proc(t, "status")
	if strings.Contains(out, "down") {
		t.Logf("proc.sh status:\n%s", out)
		return false
	}
	return true
}

// bench runs `aftersales bench --target` against one API and reads its report.
func (c *cluster) bench(t *testing.T, target string, n int) benchReport {
	cmd := exec.Command(c.get(t, "AFTERSALES_BIN"), "bench", "--target", target, "--keys", c.get(t, "KEYS_FILE"),
		"--providers-url", c.get(t, "PROVIDERS_URL")+"/payment", "--payment-key", c.get(t, "PAYMENT_KEY"),
		"--cost", "--temporal-address", c.get(t, "TEMPORAL_ADDRESS"), "--temporal-namespace", c.get(t, "TEMPORAL_NAMESPACE"),
		"--tickets", fmt.Sprint(n), "--concurrency", "4", "--ticket-timeout", "3m", "--json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Errorf("bench --target %s: %v\n%s", target, err, errb.String())
		return benchReport{Tickets: n, Lost: n}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r benchReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Errorf("bench --target %s: %v in %q", target, err, out.String())
		return benchReport{Tickets: n, Lost: n}
	}
	return r
}

// proc runs deploy/cluster/proc.sh.
func (c *cluster) proc(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(c.get(t, "PROC"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("proc.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func faultTable(rows []phaseRow) string {
	var b strings.Builder
	b.WriteString("| process killed | signal | tickets | lost | duplicate payments | down (s) | phase (s) | tickets/s | action p99 (ms) | actions/ticket | events/ticket |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		proc, sig := r.proc, "SIG"+r.sig
		if proc == "" {
			proc, sig = "(none)", "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %.1f | %.1f | %.1f | %.0f | %.1f | %.1f |\n", proc, sig, r.tickets, r.lost, r.dups, r.down, r.seconds, r.rate, r.p99, r.actions, r.events)
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// The provider's ledger against the read model.

// ledgerRecords reads the payment provider's own ledger (every ticket's when
// ticketID is empty).
func (c *cluster) ledgerRecords(t *testing.T, ticketID string) []payment.Record {
	t.Helper()
	var body struct{ Refunds []payment.Record }
	req, _ := http.NewRequest(http.MethodGet, c.get(t, "PROVIDERS_URL")+"/payment/payments?ticket_id="+ticketID, nil)
	req.Header.Set("Authorization", "Bearer "+c.get(t, "PAYMENT_KEY"))
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("the provider's ledger: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the provider's ledger: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Refunds
}

func (c *cluster) ledger(t *testing.T) {
	db, err := store.Open(c.get(t, "DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var tickets, paid, dups int
	waitUntil(t, "the read model agrees with the provider's ledger", func() (bool, string) {
		byTicket := map[string][]payment.Record{}
		for _, r := range c.ledgerRecords(t, "") {
			byTicket[r.TicketID] = append(byTicket[r.TicketID], r)
		}
		var ids []string
		if err := db.Gorm().WithContext(ctx).Raw("SELECT id FROM tickets").Scan(&ids).Error; err != nil {
			return false, err.Error()
		}
		tickets, paid, dups = len(ids), 0, 0
		var diffs []string
		for _, id := range ids {
			head, err := db.GetTicketHead(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			rows, err := db.ListRefunds(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			ours := map[string]models.RefundRow{}
			for _, r := range rows {
				ours[r.Key] = r
			}
			var n int
			var sum int64
			for _, r := range byTicket[id] {
				if r.Purpose != models.PurposeRefund {
					continue
				}
				row, ok := ours[r.Key]
				switch {
				case !ok:
					diffs = append(diffs, fmt.Sprintf("%s: the provider has %s (%s), the read model no row", id, r.Key, r.Status))
				case row.AmountCents != r.AmountCents || row.Status != r.Status:
					diffs = append(diffs, fmt.Sprintf("%s: %s is %d %s at the provider, %d %s in the read model", id, r.Key, r.AmountCents, r.Status, row.AmountCents, row.Status))
				}
				if r.Status == models.RefundSucceeded {
					n++
					sum += r.AmountCents
				}
			}
			for key, row := range ours {
				if row.Status == models.RefundSucceeded && !hasKey(byTicket[id], key) {
					diffs = append(diffs, fmt.Sprintf("%s: the read model says %s succeeded, the provider has no such payment", id, key))
				}
			}
			if n > 1 {
				dups += n - 1
			}
			paid += n
			if head.RefundedCents != sum {
				diffs = append(diffs, fmt.Sprintf("%s (%s): refunded_cents %d in the read model, the provider paid %d", id, head.State, head.RefundedCents, sum))
			}
			delete(byTicket, id)
		}
		for id := range byTicket {
			diffs = append(diffs, fmt.Sprintf("the provider paid ticket %s, which the read model does not have", id))
		}
		sort.Strings(diffs)
		if len(diffs) > 0 {
			return false, fmt.Sprintf("%d differences, first: %s", len(diffs), strings.Join(diffs[:min(5, len(diffs))], "; "))
		}
		return true, ""
	})
	if dups != 0 {
		t.Errorf("%d refunds paid twice", dups)
	}
	t.Logf("read model and the provider's ledger agree: %d tickets, %d refunds paid, %d paid twice", tickets, paid, dups)
}

func hasKey(recs []payment.Record, key string) bool {
	for _, r := range recs {
		if r.Key == key && r.Status == models.RefundSucceeded {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Visibility: the README's queries, on the cluster's Temporal.

func (c *cluster) visibility(t *testing.T) {
	tc, err := client.Dial(client.Options{HostPort: c.get(t, "TEMPORAL_ADDRESS"), Namespace: c.get(t, "TEMPORAL_NAMESPACE")})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx := context.Background()
	list := func(query string) ([]string, error) {
		var ids []string
		var token []byte
		for {
			resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
			if err != nil {
				return nil, err
			}
			for _, e := range resp.Executions {
				ids = append(ids, e.Execution.WorkflowId)
			}
			if token = resp.NextPageToken; len(token) == 0 {
				return ids, nil
			}
		}
	}
	// Each scenario ticket, by its id and the state it is in.
	for id, state := range c.scenario {
		q := fmt.Sprintf(`WorkflowId = "ticket-%s" AND TicketState = "%s" AND ShopID = "shop-1"`, id, state)
		waitUntil(t, q, func() (bool, string) {
			ids, err := list(q)
			if err != nil {
				return false, err.Error()
			}
			return len(ids) == 1, fmt.Sprintf("%d found", len(ids))
		})
	}
	var open []string
	for id, s := range c.scenario {
		if s == models.StateEscalated {
			open = append(open, "ticket-"+id)
		}
	}
	q := `TicketState="escalated" AND ShopID="shop-1"`
	waitUntil(t, q, func() (bool, string) {
		ids, err := list(q)
		if err != nil {
			return false, err.Error()
		}
		for _, w := range open {
			if !contains(ids, w) {
				return false, fmt.Sprintf("found %v, not %s", ids, w)
			}
		}
		return true, ""
	})
	// Nothing overdue, nothing whose tasks keep failing: every deadline has a timer,
	// and the faults left no ticket stuck.
	for _, q := range []string{
		fmt.Sprintf(`ExecutionStatus="Running" AND SLADeadline < "%s"`, time.Now().UTC().Format(time.RFC3339)),
		`TemporalReportedProblems IS NOT NULL`,
	} {
		ids, err := list(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
		} else if len(ids) > 0 {
			t.Errorf("%s: %d workflows, want none: %v", q, len(ids), ids[:min(5, len(ids))])
		}
	}
	// Every completed ticket of the read model is found completed in Temporal.
	db, err := store.Open(c.get(t, "DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var completed int64
	if err := db.Gorm().Raw("SELECT COUNT(*) FROM tickets WHERE state = ?", models.StateCompleted).Scan(&completed).Error; err != nil {
		t.Fatal(err)
	}
	q = `TicketState="completed" AND ShopID="shop-1"`
	waitUntil(t, q, func() (bool, string) {
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return false, err.Error()
		}
		return resp.Count == completed, fmt.Sprintf("%d found, the read model has %d completed", resp.Count, completed)
	})
	t.Logf("visibility: %d scenario tickets found by id and state, %d escalated, %d completed", len(c.scenario), len(open), completed)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
