package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/models"
)

// The production shape of the providers: the worker holds no provider's state
// and reaches the courier and the payment provider over HTTP, served by
// `aftersales providers`, which is stopped and started again while tickets are
// in flight (pickups booked, refunds accepted, events not sent yet). Every
// ticket still ends refunded what it asked, and the providers' own ledgers,
// read back from their files, paid each ticket once.
func TestProvidersProcessRestartedMidFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole runtime; skipped with -short")
	}
	dir := t.TempDir()
	courierSecret, paymentSecret := filepath.Join(dir, "webhook-courier.secret"), filepath.Join(dir, "webhook-payment.secret")
	if _, err := loadWebhookSecrets(courierSecret, paymentSecret, true); err != nil {
		t.Fatal(err)
	}
	webhooks, providers := newFront(t), newFront(t)
	args := []string{"--http", "127.0.0.1:0", "--courier-key", "ck-it", "--payment-key", "pk-it",
		"--courier-ledger-file", filepath.Join(dir, "courier.json"), "--payment-ledger-file", filepath.Join(dir, "payment.json"),
		"--webhook-url", webhooks.URL, "--courier-webhook-secret-file", courierSecret, "--payment-webhook-secret-file", paymentSecret,
		"--sim-delay", "300ms"}
	start := func() func() {
		ctx, cancel := context.WithCancel(context.Background())
		addrs, done := make(chan net.Addr, 1), make(chan error, 1)
		go func() { done <- serveProviders(ctx, args, func(a net.Addr) { addrs <- a }) }()
		select {
		case a := <-addrs:
			providers.point(t, "http://"+a.String())
		case err := <-done:
			cancel()
			t.Fatalf("providers did not start: %v", err)
		}
		return func() { cancel(); <-done }
	}
	stop := start()

	d := testDevFlags(t, dir)
	d.providers.injectedCourier = &courier.HTTP{BaseURL: providers.URL + "/courier", APIKey: "ck-it"}
	d.providers.injectedPayment = &payment.HTTP{BaseURL: providers.URL + "/payment", APIKey: "pk-it"}
	rt, err := startDev(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Stop() }()
	webhooks.point(t, rt.apiURL)
	platform := keyOf(rt.keys, models.RolePlatform)

	want := map[string]int64{}
	for i := range 6 {
		c := models.CreateTicket{OrderID: fmt.Sprintf("prov-%d", i), ShopID: "shop-1", BuyerID: fmt.Sprintf("buyer-p%d", i),
			ReasonCode: models.ReasonQuality, BuyerCredit: 3, Order: models.OrderInfo{PaidCents: 20000, PaidAt: time.Now().UTC()}}
		if i%2 == 0 { // fast review, refunded at once
			c.Kind, c.RequestedCents = models.KindRefundOnly, 15000
		} else { // fast review, a pickup, a lightning refund at pickup
			c.Kind, c.ReturnMethod, c.RequestedCents, c.PickupAddress = models.KindReturnRefund, models.ReturnPickup, 20000, "1 Road"
		}
		var tk models.Ticket
		if code := request(t, http.MethodPost, rt.apiURL+"/v1/tickets", platform, c, &tk); code != http.StatusCreated {
			t.Fatalf("create %d: status %d", i, code)
		}
		want[tk.ID] = c.RequestedCents
	}
	// Restart the providers while their work is under way: once a payment they
	// accepted is in their file and not yet settled. What they had not sent yet
	// they send after the restart.
	waitFor(t, rt.served, "a payment accepted and not settled", func() (bool, string) {
		peek := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: filepath.Join(dir, "payment.json")}
		defer peek.Close()
		for _, r := range peek.Ledger("") {
			if r.Status == models.RefundSent {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d payments in the provider's file, none in flight", len(peek.Ledger("")))
	})
	stop()
	stop = start()
	defer func() { stop() }()

	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	final := waitAllEnded(t, rt, platform, ids)
	ledger := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: filepath.Join(dir, "payment.json")}
	defer ledger.Close()
	for id, tk := range final {
		if tk.State != models.StateCompleted || tk.RefundedCents != want[id] {
			t.Errorf("ticket %s ended %s/%s refunded %d, want completed with %d", id, tk.State, tk.Outcome, tk.RefundedCents, want[id])
		}
		var paid int64
		for _, r := range ledger.Ledger(id) {
			if r.Purpose == models.PurposeRefund && r.Status == models.RefundSucceeded {
				paid += r.AmountCents
			}
		}
		if paid != want[id] {
			t.Errorf("ticket %s: the provider's ledger paid %d, want %d", id, paid, want[id])
		}
	}
}
