package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// still pending with that deadline, lets the deadline pass while nothing runs,
// starts again on the same data dir and sees the timer armed before the stop fire
// after the restart, under the ticket's own policy.
func TestDevRestartResumesTickets(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	// review_by must not pass between the create and the worker's stop; the
	// test only waits for it when the runtime is down.
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
	buyer, seller := keyOf(rt.keys, models.RoleBuyer), keyOf(rt.keys, models.RoleSeller)
	var tk models.Ticket
	code := request(t, http.MethodPost, rt.apiURL+"/v1/tickets", buyer, models.CreateTicket{
		OrderID: "o-restart", ShopID: "shop-1", BuyerID: "buyer-1", Kind: models.KindReturnRefund,
		ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, RequestedCents: 99900,
		Order: models.OrderInfo{PaidCents: 99900, PaidAt: time.Now().UTC()},
	}, &tk)
	if code != http.StatusCreated || tk.State != models.StatePendingReview || tk.Deadline == nil {
		t.Fatalf("create: %d %s %+v", code, tk.State, tk.Deadline)
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
// SIGINT does: it returns without error and frees its ports.
func TestRunDevStopsOnSignal(t *testing.T) {
	d := testDevFlags(t, t.TempDir())
	// Given ports, as a user gives them, so the test knows what must be freed.
	d.http = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.temporalPort, d.uiPort = freePort(t), freePort(t)
	args := []string{"--data-dir", d.dataDir, "--http", d.http, "--temporal-port", fmt.Sprint(d.temporalPort),
		"--ui-port", fmt.Sprint(d.uiPort), "--sim", "manual"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, args) }()
	waitFor(t, done, "dev answers /healthz", func() (bool, string) {
		res, err := http.Get("http://" + d.http + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		res.Body.Close()
		return true, ""
	})
	cancel()
	if err := <-done; err != nil { // the test's own deadline bounds a runDev that never stops
		t.Fatalf("runDev: %v", err)
	}
	for _, addr := range []string{d.http, fmt.Sprintf("127.0.0.1:%d", d.temporalPort), fmt.Sprintf("127.0.0.1:%d", d.uiPort)} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s still taken after stop: %v", addr, err)
			continue
		}
		l.Close()
	}
}
