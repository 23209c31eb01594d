package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testDevFlags runs the dev runtime on ports it picks itself (the API and the
// Temporal frontend on port 0) and without the Web UI, whose server cannot be
// given a bound listener: tests that look at the UI set uiPort.
func testDevFlags(t *testing.T, dir string) devFlags {
	var d devFlags
	d.dataDir = dir
	d.http = "127.0.0.1:0"
	d.providers.courier, d.providers.payment, d.providers.sim = "sim", "sim", "manual"
	return d
}

func keyOf(keys []api.Key, role models.Role) string {
	for _, k := range keys {
		if k.Role == role {
			return k.Key
		}
	}
	return ""
}

func request(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestDevRestartResumesTickets starts the whole dev runtime, creates a ticket,
// stops everything before its review deadline, finds the ticket in the read model
// still pending with that deadline, waits (stopped) until the deadline has passed,
// starts again on the same data dir and sees the timer armed before the stop fire
// after the restart, under the ticket's own policy.
func TestDevRestartResumesTickets(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	// review_by must not pass between the create and the worker's stop (15 s
	// for one create and a stop); it passes while the runtime is down.
	if err := os.WriteFile(policy, []byte("version: restart-test\nreview_timeout: 15s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testDevFlags(t, dir)
	d.policyFile = policy
	d.uiPort = freePort(t)
	rt, err := startDev(context.Background(), d)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if code := request(t, http.MethodGet, rt.server.UIURL(), "", nil, nil); code != http.StatusOK {
		t.Errorf("Web UI answered %d", code)
	}
	seller := keyOf(rt.keys, models.RoleSeller)
	var tk models.Ticket
	code := openTicket(t, rt.apiURL, rt.keys, models.CreateTicket{
		OrderID: "o-restart", ShopID: "shop-1", BuyerID: "buyer-1", Kind: models.KindReturnRefund,
		ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, RequestedCents: 99900,
		Order: models.OrderInfo{PaidCents: 99900, PaidAt: time.Now().UTC()},
	}, &tk)
	if code != http.StatusCreated || tk.State != models.StatePendingReview || tk.Deadline == nil {
		t.Fatalf("create: %d %s %+v", code, tk.State, tk.Deadline)
	}
	// /metrics carries the Temporal SDK's client and worker metrics and the
	// business figures beside the HTTP ones.
	res, err := http.Get(rt.apiURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"temporal_request_total{", `aftersales_tickets{kind="return_refund",state="pending_review"} 1`, "process_resident_memory_bytes"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	rt.Stop()

	// What the stopped runtime left behind: the ticket still pending review.
	db, err := store.Open("sqlite:" + filepath.Join(dir, "aftersales.db"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetTicket(context.Background(), tk.ID)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != models.StatePendingReview || stored.Deadline == nil || !stored.Deadline.At.Equal(tk.Deadline.At) {
		t.Fatalf("after stop: %s %+v, want pending_review with review_by %s (did the runtime take 15 s to stop?)",
			stored.State, stored.Deadline, tk.Deadline.At)
	}

	time.Sleep(time.Until(tk.Deadline.At))      // a wall-clock instant: the timer is overdue at the restart
	d.uiPort = 0                                // the first run's UI port is not held across the stop
	rt, err = startDev(context.Background(), d) // same data dir, built-in policy
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer rt.Stop()
	var again models.Ticket
	waitFor(t, rt.served, "review_by fires after the restart", func() (bool, string) {
		if code := request(t, http.MethodGet, rt.apiURL+"/v1/tickets/"+tk.ID, seller, nil, &again); code != http.StatusOK {
			return false, fmt.Sprintf("GET %d", code)
		}
		return again.State != models.StatePendingReview, string(again.State)
	})
	if again.State != models.StateAwaitingBuyerShipment || !again.Flags.AutoActed || again.PolicyVersion != "restart-test" {
		t.Errorf("after review_by: %s auto_acted %v policy %s", again.State, again.Flags.AutoActed, again.PolicyVersion)
	}
	i := slices.IndexFunc(again.Timeline, func(e models.Event) bool { return e.Action == "auto_approve" })
	if i < 0 || again.Timeline[i].At.Before(tk.Deadline.At) {
		t.Errorf("auto_approve missing or before review_by %s: %+v", tk.Deadline.At, again.Timeline)
	}
}

func TestDevRefusesTakenPorts(t *testing.T) {
	cases := []struct {
		name, flag string
		take       func(d *devFlags, port int)
	}{
		{"api", "--http", func(d *devFlags, p int) { d.http = fmt.Sprintf("127.0.0.1:%d", p) }},
		{"temporal", "--temporal-port", func(d *devFlags, p int) { d.temporalPort = p }},
		{"ui", "--ui-port", func(d *devFlags, p int) { d.uiPort = p }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			d := testDevFlags(t, t.TempDir())
			port := l.Addr().(*net.TCPAddr).Port
			c.take(&d, port)
			rt, err := startDev(context.Background(), d)
			if err == nil {
				rt.Stop()
				t.Fatal("started on a taken port")
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(port)) || !strings.Contains(msg, c.flag) || strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line naming port %d and %s", msg, port, c.flag)
			}
		})
	}
}

func TestDevRefusesABusyDataDir(t *testing.T) {
	dir := t.TempDir()
	rt, err := startDev(context.Background(), testDevFlags(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	second, err := startDev(context.Background(), testDevFlags(t, dir))
	if err == nil {
		second.Stop()
		t.Fatal("a second runtime started on a data dir in use")
	}
	if !strings.Contains(err.Error(), "in use by another aftersales dev") {
		t.Errorf("error %q", err)
	}
}

// TestRunDevStopsOnSignal runs the command as main does and ends its context, as
// SIGINT does: it returns without error and frees the ports it printed.
func TestRunDevStopsOnSignal(t *testing.T) {
	d := testDevFlags(t, t.TempDir())
	// The Web UI binds a port given by number; the others are picked by the
	// runtime (port 0) and read from what it prints.
	d.uiPort = freePort(t)
	args := []string{"--data-dir", d.dataDir, "--http", "127.0.0.1:0", "--temporal-port", "0",
		"--ui-port", fmt.Sprint(d.uiPort), "--sim", "manual"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &lockedBuffer{}
	go func() { done <- dev(ctx, args, out) }()
	printed := regexp.MustCompile(`(?m)^  API +http://(\S+) .*\n(?s:.*)^  Temporal Web UI +http://(\S+)/namespaces.*\n^  Temporal gRPC +(\S+) `)
	var addrs []string
	waitFor(t, done, "dev prints its addresses", func() (bool, string) {
		m := printed.FindStringSubmatch(out.String())
		if m == nil {
			return false, out.String()
		}
		addrs = m[1:]
		return true, ""
	})
	res, err := http.Get("http://" + addrs[0] + "/healthz")
	if err != nil {
		t.Fatalf("dev printed API %s but does not answer: %v", addrs[0], err)
	}
	res.Body.Close()
	cancel()
	if err := <-done; err != nil { // the test's own deadline bounds a runDev that never stops
		t.Fatalf("runDev: %v", err)
	}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s still taken after stop: %v", addr, err)
			continue
		}
		l.Close()
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openTicket opens a ticket the way DESIGN §2 Trust has it: the shop's order
// system registers the order and the platform rates the buyer when c gives a
// credit (both as the platform key here), then the buyer names the order.
func openTicket(t *testing.T, apiURL string, keys []api.Key, c models.CreateTicket, out *models.Ticket) int {
	t.Helper()
	platform := keyOf(keys, models.RolePlatform)
	if code := request(t, http.MethodPut, apiURL+"/v1/orders/"+c.OrderID, platform, c.StatedFacts(), nil); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("register order %s: %d", c.OrderID, code)
	}
	if c.BuyerCredit != 0 {
		if code := request(t, http.MethodPut, apiURL+"/v1/buyers/"+c.BuyerID, platform, map[string]any{"credit": c.BuyerCredit}, nil); code != http.StatusOK {
			t.Fatalf("rate buyer %s: %d", c.BuyerID, code)
		}
	}
	c.Order, c.BuyerCredit = models.OrderInfo{}, 0
	return request(t, http.MethodPost, apiURL+"/v1/tickets", keyOf(keys, models.RoleBuyer), c, out)
}
