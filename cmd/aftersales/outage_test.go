package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/models"
)

// outageProvider is a payment provider's JSON API (the protocol of payment.HTTP)
// that answers 503 to everything until it is brought back, then pays every key
// once, at once.
type outageProvider struct {
	mu    sync.Mutex
	down  bool
	paid  map[string]int // key -> payments made
	calls int            // requests answered 503
}

func (p *outageProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		p.calls++
		http.Error(w, `{"error":"maintenance"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	record := func(key string) string {
		return fmt.Sprintf(`{"key":%q,"status":"succeeded","provider_ref":"ref-%s"}`, key, key)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/refunds":
		var body struct {
			Key string `json:"key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if p.paid[body.Key] > 0 {
			w.WriteHeader(http.StatusConflict) // the key was used: the adapter looks it up
			fmt.Fprint(w, `{"error":"key already used"}`)
			return
		}
		p.paid[body.Key]++
		fmt.Fprint(w, record(body.Key))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/payments/"):
		key := strings.TrimPrefix(r.URL.Path, "/payments/")
		if p.paid[key] == 0 {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"no such payment"}`)
			return
		}
		fmt.Fprint(w, record(key))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (p *outageProvider) state() (down bool, failed int, paid map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, n := range p.paid {
		out[k] = n
	}
	return p.down, p.calls, out
}

// A payment provider that answers 503 for two minutes, over HTTP on the dev
// runtime: meanwhile the ticket's deadline fires (refund_by: the seller's breach
// is recorded) and the seller's actions answer; once the provider is back the
// unanswered key is looked up, found never paid, sent again under the same key
// and paid once.
func TestPaymentProviderOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a two-minute outage; skipped with -short")
	}
	// It spends its time waiting for real timers: it runs beside the other
	// test that does (the tour and the provider outage), each on its own runtime.
	t.Parallel()
	dir := t.TempDir()
	policy := filepath.Join(dir, "outage.yaml")
	if err := os.WriteFile(policy, []byte("version: outage\nrefund_timeout: 100s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prov := &outageProvider{down: true, paid: map[string]int{}}
	srv := httptest.NewServer(prov)
	defer srv.Close()
	d := testDevFlags(t, dir)
	d.policyFile = policy
	cour := &courier.Simulator{Mode: courier.ModeManual}
	defer cour.Close()
	d.providers.injectedCourier = cour
	d.providers.injectedPayment = &payment.HTTP{BaseURL: srv.URL}
	rt, err := startDev(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	seller := keyOf(rt.keys, models.RoleSeller)
	get := func(id string) models.Ticket {
		var tk models.Ticket
		request(t, http.MethodGet, rt.apiURL+"/v1/tickets/"+id, seller, nil, &tk)
		return tk
	}

	// Fast-reviewed refund: the refund goes to the provider at once, into the outage.
	c := models.CreateTicket{OrderID: "outage-1", ShopID: "shop-1", BuyerID: "buyer-1", Kind: models.KindRefundOnly,
		ReasonCode: models.ReasonNotReceived, ReturnMethod: models.ReturnNone, RequestedCents: 15000, Currency: "CNY",
		BuyerCredit: 3, Order: models.OrderInfo{PaidCents: 20000, PaidAt: time.Now().UTC()}}
	var tk models.Ticket
	if code := openTicket(t, rt.apiURL, rt.keys, c, &tk); code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	waitFor(t, rt.served, "the refund tried against the provider", func() (bool, string) {
		_, failed, _ := prov.state()
		return failed > 0, "no request yet"
	})
	// An action answers while the provider is down.
	var after models.Ticket
	if code := request(t, http.MethodPost, rt.apiURL+"/v1/tickets/"+tk.ID+"/reply", seller,
		map[string]any{"message": "the payment provider is down; your refund is on its way"}, &after); code != http.StatusOK {
		t.Fatalf("reply during the outage: status %d", code)
	}
	if down, _, _ := prov.state(); !down {
		t.Fatal("the outage ended before the reply was checked")
	}
	// The deadline fires while the provider is down.
	waitFor(t, rt.served, "refund_by passes during the outage", func() (bool, string) {
		tk = get(tk.ID)
		return hasAction(tk, "force_refund"), fmt.Sprintf("state %s, refunds %+v", tk.State, tk.Refunds)
	})
	down, failed, paid := prov.state()
	if !down || len(paid) != 0 || !tk.Flags.SellerBreach {
		t.Fatalf("at refund_by: provider down %v, paid %v, seller breach %v", down, paid, tk.Flags.SellerBreach)
	}
	// Two minutes of 503s in all, then the provider is back.
	time.Sleep(time.Until(tk.CreatedAt.Add(2 * time.Minute)))
	prov.mu.Lock()
	prov.down = false
	prov.mu.Unlock()
	t.Logf("the provider answered %d requests with 503", failed)

	waitFor(t, rt.served, "the refund paid after the outage", func() (bool, string) {
		tk = get(tk.ID)
		if tk.State == models.StateClosed {
			t.Fatalf("closed %s: %+v", tk.Outcome, tk.Timeline)
		}
		return tk.State == models.StateCompleted, fmt.Sprintf("state %s, refunds %+v", tk.State, tk.Refunds)
	})
	_, _, paid = prov.state()
	if len(tk.Refunds) != 1 || paid[tk.Refunds[0].Key] != 1 || len(paid) != 1 {
		t.Errorf("keys %+v; the provider paid %v: want one key paid once", tk.Refunds, paid)
	}
	if tk.RefundedCents != 15000 || tk.Outcome != models.OutcomeRefunded {
		t.Errorf("ended %s refunded %d, want refunded 15000", tk.Outcome, tk.RefundedCents)
	}
}
