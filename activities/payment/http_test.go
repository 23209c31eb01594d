package payment_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/providerapi/providerapitest"
	"github.com/aftersales/aftersales/activities/webhook"
)

// client calls p. Its per-attempt timeout is too long to fire, so that on a slow
// machine no attempt is retried that the test does not expect.
func client(p *providerapitest.Provider) *payment.HTTP {
	return &payment.HTTP{BaseURL: p.URL + "/api", APIKey: "pk-1", Timeout: time.Hour,
		Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
}

const sent = `{"key":"T1:refund:1","status":"sent","provider_ref":"P1"}`

func TestHTTPPayRequests(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) { return http.StatusAccepted, sent })
	h, ctx := client(p), context.Background()
	calls := map[string]func(context.Context, activities.MoneyRequest) (activities.Receipt, error){
		"/api/refunds": h.Refund, "/api/compensations": h.Compensate, "/api/recoveries": h.ChargeRecovery, "/api/freight-claims": h.ClaimFreightInsurance,
	}
	for path, call := range calls {
		r, err := call(ctx, money("T1:refund:1", 500))
		if err != nil || r != (activities.Receipt{Key: "T1:refund:1", Status: "sent", ProviderRef: "P1"}) {
			t.Fatalf("%s: %+v %v", path, r, err)
		}
		reqs := p.Requests()
		got := reqs[len(reqs)-1]
		if got.Method != http.MethodPost || got.Path != path || got.Auth != "Bearer pk-1" || got.Key != "T1:refund:1" {
			t.Fatalf("request %+v, want POST %s", got, path)
		}
		var body map[string]any
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"key": "T1:refund:1", "ticket_id": "T1", "order_id": "O1", "amount_cents": float64(500), "currency": "CNY"}
		if len(body) != len(want) {
			t.Fatalf("body %s", got.Body)
		}
		for k, v := range want {
			if body[k] != v {
				t.Fatalf("body %s: %s = %v, want %v", got.Body, k, body[k], v)
			}
		}
	}
}

func TestHTTPRetries500WithSameKey(t *testing.T) {
	p := providerapitest.New(t, func(n int, _ *http.Request) (int, string) {
		if n == 1 {
			return http.StatusInternalServerError, `{"error":"oops"}`
		}
		return http.StatusOK, `{"key":"T1:refund:1","status":"succeeded","provider_ref":"P1"}`
	})
	r, err := client(p).Refund(context.Background(), money("T1:refund:1", 500))
	if err != nil || r.Status != "succeeded" {
		t.Fatalf("%+v %v", r, err)
	}
	reqs := p.Requests()
	if len(reqs) != 2 || reqs[0].Key != reqs[1].Key || string(reqs[0].Body) != string(reqs[1].Body) {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestHTTPTimeoutHonoured(t *testing.T) {
	var p providerapitest.Stalled
	h := &payment.HTTP{BaseURL: "http://pay.test/api", Timeout: 50 * time.Millisecond, Retries: -1, Client: p.Client()}
	if _, err := h.Refund(context.Background(), money("T1:refund:1", 500)); err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v", err)
	}
	if n := p.Attempts(); n != 1 {
		t.Fatalf("%d attempts, want 1 with Retries < 0", n)
	}
}

func TestHTTPLookup(t *testing.T) {
	p := providerapitest.New(t, func(_ int, r *http.Request) (int, string) {
		if r.URL.Path == "/api/payments/T1:refund:1" {
			return http.StatusOK, `{"key":"T1:refund:1","status":"failed","provider_ref":"P1","reason":"card closed"}`
		}
		return http.StatusNotFound, `{"error":"unknown key"}`
	})
	h, ctx := client(p), context.Background()
	r, found, err := h.Lookup(ctx, "T1:refund:1")
	if err != nil || !found || r != (activities.Receipt{Key: "T1:refund:1", Status: "failed", ProviderRef: "P1", Reason: "card closed"}) {
		t.Fatalf("%+v %v %v", r, found, err)
	}
	if _, found, err := h.Lookup(ctx, "T1:refund:9"); found || err != nil {
		t.Fatalf("404: %v %v", found, err)
	}
	got := p.Requests()[0]
	if got.Method != http.MethodGet || got.Auth != "Bearer pk-1" {
		t.Fatalf("request %+v", got)
	}
}

func TestHTTPConflictReturnsExistingRecord(t *testing.T) {
	p := providerapitest.New(t, func(_ int, r *http.Request) (int, string) {
		if r.Method == http.MethodPost {
			return http.StatusConflict, `{"error":"key already used"}`
		}
		return http.StatusOK, `{"key":"T1:refund:1","status":"succeeded","provider_ref":"P0"}`
	})
	r, err := client(p).Refund(context.Background(), money("T1:refund:1", 500))
	if err != nil || r.ProviderRef != "P0" || r.Status != "succeeded" {
		t.Fatalf("%+v %v", r, err)
	}
	reqs := p.Requests()
	if len(reqs) != 2 || reqs[1].Method != http.MethodGet || reqs[1].Path != "/api/payments/T1:refund:1" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestHTTPRejectsUnknownStatus(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) {
		return http.StatusOK, `{"key":"T1:refund:1","status":"pending"}`
	})
	if _, err := client(p).Refund(context.Background(), money("T1:refund:1", 500)); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("err = %v", err)
	}
}
