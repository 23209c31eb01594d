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
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// `aftersales providers` is the courier and the payment provider as a process of
// their own: a worker's HTTP adapters book and pay through it, their events reach
// the API's webhooks signed with each provider's secret, and their ledgers
// outlive a restart.
func TestProvidersProcess(t *testing.T) {
	dir := t.TempDir()
	secret := func(name string) (string, webhook.Keys) {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(webhook.NewSecret()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := webhook.LoadKeys(file, false)
		if err != nil {
			t.Fatal(err)
		}
		return file, keys
	}
	courierFile, courierKeys := secret("webhook-courier.secret")
	paymentFile, paymentKeys := secret("webhook-payment.secret")
	events := make(chan models.PaymentEvent, 4)
	visits := make(chan models.CourierEvent, 8)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == payment.WebhookPath && paymentKeys.Verify(r.Header, raw, time.Now()) == nil:
			var ev models.PaymentEvent
			_ = json.Unmarshal(raw, &ev)
			events <- ev
		case r.URL.Path == courier.WebhookPath && courierKeys.Verify(r.Header, raw, time.Now()) == nil:
			var ev models.CourierEvent
			_ = json.Unmarshal(raw, &ev)
			visits <- ev
		default:
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	args := []string{"--http", "127.0.0.1:0", "--payment-key", "pk-test", "--courier-key", "ck-test",
		"--payment-ledger-file", filepath.Join(dir, "payments.json"), "--courier-ledger-file", filepath.Join(dir, "visits.json"),
		"--webhook-url", api.URL, "--payment-webhook-secret-file", paymentFile, "--courier-webhook-secret-file", courierFile,
		"--sim-delay", "10ms"}
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
	visit := &courier.HTTP{BaseURL: url + "/courier", APIKey: "ck-test"}
	b, err := visit.BookPickup(context.Background(), activities.PickupRequest{TicketID: "T1", Address: "1 Road", Attempt: 1})
	if err != nil || b.BookingID == "" {
		t.Fatalf("pickup through the providers process: %+v, %v", b, err)
	}
	for _, want := range []string{models.CourierPickedUp, models.CourierDelivered} {
		if ev := <-visits; ev.Type != want || ev.TicketID != "T1" || ev.TrackingNo != b.TrackingNo {
			t.Fatalf("courier webhook %+v, want %s", ev, want)
		}
	}
	pay := &payment.HTTP{BaseURL: url + "/payment", APIKey: "pk-test"}
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
	pay.BaseURL, visit.BaseURL = url+"/payment", url+"/courier"
	if again, err := visit.BookPickup(context.Background(), activities.PickupRequest{TicketID: "T1", Address: "1 Road", Attempt: 1}); err != nil || again != b {
		t.Fatalf("the courier after a restart: %+v, %v; want the first booking %+v", again, err, b)
	}
	if r, found, err := pay.Lookup(context.Background(), req.Key); err != nil || !found || r.Status != models.RefundSucceeded {
		t.Fatalf("after a restart the provider's ledger says %+v %v %v", r, found, err)
	}
	if r, err := pay.Refund(context.Background(), req); err != nil || r.Status != models.RefundSucceeded {
		t.Fatalf("the key sent again after the restart: %+v, %v; want the record, paid once", r, err)
	}
}

// A payment the provider accepted and had not settled when it stopped is settled
// and its event sent once it starts again, with no call to start it: after a
// restart no call may ever come, each ticket waiting on its own event.
func TestProvidersResumePaymentsAtStart(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "payments.json")
	before := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: ledger}
	req := activities.MoneyRequest{Key: "T9:refund:1", TicketID: "T9", OrderID: "O9", AmountCents: 900, Currency: "CNY"}
	if r, err := before.Refund(context.Background(), req); err != nil || r.Status != models.RefundSent {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	_ = before.Close()

	secrets := map[string]string{}
	for _, name := range []string{"courier", "payment"} {
		secrets[name] = filepath.Join(dir, name+".secret")
		if err := os.WriteFile(secrets[name], []byte(webhook.NewSecret()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	events := make(chan models.PaymentEvent, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev models.PaymentEvent
		if r.URL.Path == payment.WebhookPath && json.NewDecoder(r.Body).Decode(&ev) == nil {
			events <- ev
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveProviders(ctx, []string{"--http", "127.0.0.1:0", "--payment-key", "pk-test", "--courier-key", "ck-test",
			"--payment-ledger-file", ledger, "--courier-ledger-file", filepath.Join(dir, "visits.json"), "--webhook-url", api.URL,
			"--payment-webhook-secret-file", secrets["payment"], "--courier-webhook-secret-file", secrets["courier"], "--sim-delay", "10ms"}, nil)
	}()
	defer func() { cancel(); <-done }()
	select {
	case ev := <-events:
		if ev.RefundKey != req.Key || ev.Status != models.RefundSucceeded {
			t.Fatalf("after the start: %+v, want %s succeeded", ev, req.Key)
		}
	case err := <-done:
		t.Fatalf("providers stopped: %v", err)
	}
}

// bench --target --providers-url counts duplicate refunds from the payment
// provider's own ledger, read over its API (GET /payments?ticket_id=): two
// succeeded refunds of one ticket are two, a failed one none; a wrong key is an
// error at once, never a silent zero.
func TestBenchReadsTheProvidersLedger(t *testing.T) {
	sim := &payment.Simulator{Mode: payment.ModeManual}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim.API("pk-bench"))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, k := range []struct {
		key, ticket string
		cents       int64
		status      models.MoneyStatus
	}{{"T1:refund:1", "T1", 500, models.RefundSucceeded}, {"T1:refund:2", "T1", 700, models.RefundSucceeded}, {"T2:refund:1", "T2", 900, models.RefundFailed}} {
		if _, err := sim.Refund(ctx, activities.MoneyRequest{Key: k.key, TicketID: k.ticket, OrderID: "O", AmountCents: k.cents, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.Settle(k.key, k.status, ""); err != nil {
			t.Fatal(err)
		}
	}
	p := providerPayments{base: srv.URL, key: "pk-bench"}
	if n, cents := p.PaidRefunds("T1"); n != 2 || cents != 1200 {
		t.Errorf("T1: %d refunds, %d cents; want 2 and 1200", n, cents)
	}
	if n, cents := p.PaidRefunds("T2"); n != 0 || cents != 0 {
		t.Errorf("T2: %d refunds, %d cents; want none (it failed)", n, cents)
	}
	if _, err := (providerPayments{base: srv.URL, key: "wrong"}).records(ctx, ""); err == nil {
		t.Error("a wrong key read the ledger")
	}
}
