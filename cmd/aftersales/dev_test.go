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
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
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

func testDevFlags(t *testing.T, dir string) devFlags {
	var d devFlags
	d.dataDir = dir
	d.http = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.temporalPort, d.uiPort = freePort(t), freePort(t)
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
// stops everything, starts again on the same data dir, finds the ticket with its
// review timer still armed, and sees that timer fire after the restart.
func TestDevRestartResumesTickets(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("version: restart-test\nreview_timeout: 8s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testDevFlags(t, dir)
	d.policyFile = policy
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
	if code != http.StatusCreated || tk.State != models.StatePendingReview {
		t.Fatalf("create: %d %s", code, tk.State)
	}
	rt.Stop()

	rt, err = startDev(context.Background(), d) // same data dir, same ports, built-in policy
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer rt.Stop()
	var again models.Ticket
	if code := request(t, http.MethodGet, rt.apiURL+"/v1/tickets/"+tk.ID, seller, nil, &again); code != http.StatusOK {
		t.Fatalf("GET after restart: %d", code)
	}
	if again.State != models.StatePendingReview || again.Deadline == nil || !again.Deadline.At.Equal(tk.Deadline.At) {
		t.Fatalf("after restart: %s %+v, want pending_review with review_by %s", again.State, again.Deadline, tk.Deadline.At)
	}
	// The timer armed before the restart fires after it, under the ticket's own policy.
	deadline := time.Now().Add(60 * time.Second)
	for again.State == models.StatePendingReview {
		if time.Now().After(deadline) {
			t.Fatalf("review_by never fired after the restart: %+v", again)
		}
		time.Sleep(200 * time.Millisecond)
		request(t, http.MethodGet, rt.apiURL+"/v1/tickets/"+tk.ID, seller, nil, &again)
	}
	if again.State != models.StateAwaitingBuyerShipment || !again.Flags.AutoActed || again.PolicyVersion != "restart-test" {
		t.Errorf("after review_by: %s auto_acted %v policy %s", again.State, again.Flags.AutoActed, again.PolicyVersion)
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
	args := []string{"--data-dir", d.dataDir, "--http", d.http, "--temporal-port", fmt.Sprint(d.temporalPort),
		"--ui-port", fmt.Sprint(d.uiPort), "--sim", "manual"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, args) }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get("http://" + d.http + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dev never answered /healthz")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runDev: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runDev did not stop")
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
