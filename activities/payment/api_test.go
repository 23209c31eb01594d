package payment_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// The simulator served over the provider protocol (Simulator.API) is what the
// HTTP adapter expects of a real provider: each purpose by its path, a key paid
// once however often it is sent, a key reused for another payment answered from
// the provider's record, a lookup by key, a final refusal as a 4xx, a wrong key
// refused; and its ledger outlives the process (LedgerFile).
func TestAPIServesTheProtocol(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "payments.json")
	sim := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: ledger,
		Refuse: func(_ models.Purpose, req activities.MoneyRequest) string {
			if req.OrderID == "closed" {
				return "the buyer's account is closed"
			}
			return ""
		}}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim.API("pk-1"))
	t.Cleanup(srv.Close)
	h := &payment.HTTP{BaseURL: srv.URL, APIKey: "pk-1", Timeout: time.Minute, Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
	ctx := context.Background()
	req := activities.MoneyRequest{Key: "T1:refund:1", TicketID: "T1", OrderID: "O1", AmountCents: 5000, Currency: "CNY"}

	for range 3 {
		r, err := h.Refund(ctx, req)
		if err != nil || r.Key != req.Key || r.Status != models.RefundSent || r.ProviderRef == "" {
			t.Fatalf("refund: %+v, %v", r, err)
		}
	}
	if n := sim.Payments(); n != 1 {
		t.Fatalf("the key sent three times made %d payments, want 1", n)
	}
	other := req
	other.AmountCents = 9999
	if r, err := h.Refund(ctx, other); err != nil || r.Key != req.Key || sim.Payments() != 1 {
		t.Fatalf("the key reused for another amount: %+v, %v, %d payments; want the provider's record and no payment", r, err, sim.Payments())
	}
	back := activities.MoneyRequest{Key: "T1:refund:2", TicketID: "T1", OrderID: "O1", AmountCents: 700, Currency: "CNY"}
	if _, err := h.ChargeRecovery(ctx, back); err != nil {
		t.Fatal(err)
	}
	if rec := sim.Ledger("T1"); len(rec) != 2 || rec[1].Purpose != models.PurposeRecovery {
		t.Fatalf("the provider's ledger: %+v", rec)
	}
	if _, err := sim.Settle(req.Key, models.RefundSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	if r, found, err := h.Lookup(ctx, req.Key); err != nil || !found || r.Status != models.RefundSucceeded {
		t.Fatalf("lookup: %+v %v %v", r, found, err)
	}
	if _, found, err := h.Lookup(ctx, "T9:refund:1"); err != nil || found {
		t.Fatalf("lookup of a key never sent: found=%v, %v", found, err)
	}

	closed := req
	closed.Key, closed.OrderID = "T2:refund:1", "closed"
	if _, err := h.Refund(ctx, closed); providerapi.Status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("a refusal: %v, want a final 422", err)
	}
	wrong := *h
	wrong.APIKey, wrong.Retries = "pk-other", -1
	if _, err := wrong.Refund(ctx, req); providerapi.Status(err) != http.StatusUnauthorized {
		t.Fatalf("another API key: %v, want 401", err)
	}

	// The ledger is the provider's own: a new process on the same file knows the keys.
	again := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: ledger}
	t.Cleanup(func() { _ = again.Close() })
	if r, found, err := again.Lookup(ctx, req.Key); err != nil || !found || r.Status != models.RefundSucceeded {
		t.Fatalf("after a restart: %+v %v %v", r, found, err)
	}
}
