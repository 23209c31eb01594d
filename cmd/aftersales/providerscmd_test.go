package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// `aftersales providers` is the payment provider as a process of its own: a
// worker's HTTP adapter pays through it, its result reaches the API's payment
// webhook signed with the provider's secret, and its ledger outlives a restart.
func TestProvidersProcess(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "webhook-payment.secret")
	if err := os.WriteFile(secretFile, []byte(webhook.NewSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := webhook.LoadKeys(secretFile, false)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan models.PaymentEvent, 4)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Path != payment.WebhookPath || keys.Verify(r.Header, raw, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev models.PaymentEvent
		_ = json.Unmarshal(raw, &ev)
		events <- ev
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	args := []string{"--http", "127.0.0.1:0", "--payment-key", "pk-test", "--ledger-file", filepath.Join(dir, "ledger.json"),
		"--webhook-url", api.URL, "--payment-webhook-secret-file", secretFile, "--sim-delay", "10ms"}
	start := func() (string, context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		addrs, done := make(chan net.Addr, 1), make(chan error, 1)
		go func() { done <- serveProviders(ctx, args, func(a net.Addr) { addrs <- a }) }()
		select {
		case a := <-addrs:
			return "http://" + a.String(), cancel, done
		case err := <-done:
			cancel()
			t.Fatalf("providers did not start: %v", err)
		}
		return "", cancel, done
	}

	url, stop, done := start()
	pay := &payment.HTTP{BaseURL: url, APIKey: "pk-test"}
	req := activities.MoneyRequest{Key: "T1:refund:1", TicketID: "T1", OrderID: "O1", AmountCents: 1200, Currency: "CNY"}
	if r, err := pay.Refund(context.Background(), req); err != nil || r.Status != models.RefundSent {
		t.Fatalf("refund through the providers process: %+v, %v", r, err)
	}
	ev := <-events
	if ev.RefundKey != req.Key || ev.Status != models.RefundSucceeded || ev.TicketID != "T1" {
		t.Fatalf("the webhook: %+v", ev)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("providers stopped with %v", err)
	}

	url, stop, done = start()
	defer func() { stop(); <-done }()
	pay.BaseURL = url
	if r, found, err := pay.Lookup(context.Background(), req.Key); err != nil || !found || r.Status != models.RefundSucceeded {
		t.Fatalf("after a restart the provider's ledger says %+v %v %v", r, found, err)
	}
	if r, err := pay.Refund(context.Background(), req); err != nil || r.Status != models.RefundSucceeded {
		t.Fatalf("the key sent again after the restart: %+v, %v; want the record, paid once", r, err)
	}
}
