package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
)

// Risk is the platform's (DESIGN §2 Trust): a buyer never sees their own credit
// or flag in a ticket, in any answer (create, its replays, GET, actions);
// the shop's seller and the platform do, lists included.
func TestBuyerNeverSeesTheirRisk(t *testing.T) {
	n := orderSeq.Add(1)
	shop, buyer, order := fmt.Sprintf("shop-view-%d", n), fmt.Sprintf("buyer-view-%d", n), fmt.Sprintf("o-view-%d", n)
	e := endpoint{keys: maps.Clone(h.keys)}
	e.keys["buyer"], e.keys["seller"] = "buyer-key-"+buyer+"-0123456789", "seller-key-"+shop+"-0123456789"
	keys, err := api.NewKeys(append(slices.Clone(h.keyList),
		api.Key{Key: e.keys["buyer"], Role: models.RoleBuyer, Subject: buyer}, api.Key{Key: e.keys["seller"], Role: models.RoleSeller, Subject: shop}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Keys = keys
	hs := httptest.NewServer(api.New(cfg).Handler())
	defer hs.Close()
	e.url = hs.URL

	if code := e.call(t, http.MethodPut, "/v1/buyers/"+buyer, "platform", map[string]any{"credit": 4, "flagged": true, "note": "chargebacks"}, nil); code != http.StatusOK {
		t.Fatalf("rate the buyer: %d", code)
	}
	if code := e.call(t, http.MethodPut, "/v1/orders/"+order, "seller", orderFacts(shop, buyer, 5000), nil); code != http.StatusCreated {
		t.Fatalf("register the order: %d", code)
	}
	body := map[string]any{"order_id": order, "shop_id": shop, "buyer_id": buyer, "kind": "refund_only",
		"reason_code": "not_received", "requested_cents": 5000, "external_id": "case-" + order}

	// risk fails the test unless the ticket answer raw shows the buyer's risk
	// exactly when shown is true.
	risk := func(what string, raw json.RawMessage, shown bool) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		credit, hasCredit := m["buyer_credit"]
		flagged, hasFlag := m["buyer_flagged"]
		if shown && (credit != float64(4) || flagged != true) {
			t.Errorf("%s: buyer_credit %v buyer_flagged %v, want 4 and true", what, credit, flagged)
		}
		if !shown && (hasCredit || hasFlag) {
			t.Errorf("%s shows the buyer their risk: buyer_credit %v buyer_flagged %v", what, credit, flagged)
		}
	}
	var raw json.RawMessage
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", body, &raw, "Idempotency-Key", "view-"+order); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	risk("the buyer's create", raw, false)
	var tk models.Ticket
	_ = json.Unmarshal(raw, &tk)
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", body, &raw, "Idempotency-Key", "view-"+order); code != http.StatusOK {
		t.Fatalf("create again under the key: %d", code)
	}
	risk("the replay of the buyer's create", raw, false)
	for _, c := range []struct {
		key   string
		shown bool
	}{{"buyer", false}, {"seller", true}, {"platform", true}} {
		if code := e.call(t, http.MethodGet, "/v1/tickets/"+tk.ID, c.key, nil, &raw); code != http.StatusOK {
			t.Fatalf("GET as %s: %d", c.key, code)
		}
		risk("GET as "+c.key, raw, c.shown)
	}
	var page struct {
		Tickets []json.RawMessage `json:"tickets"`
	}
	if code := e.call(t, http.MethodGet, "/v1/tickets?limit=200", "seller", nil, &page); code != http.StatusOK || len(page.Tickets) != 1 {
		t.Fatalf("the seller's list: %d, %d tickets, want 1", code, len(page.Tickets))
	}
	risk("the seller's list", page.Tickets[0], true)
	if code := e.call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/cancel", "buyer", map[string]any{"reason": "found it"}, &raw); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, raw)
	}
	risk("the buyer's action", raw, false)
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", body, &raw); code != http.StatusOK {
		t.Fatalf("the same create by external_id, once the ticket ended: %d %s", code, raw)
	}
	risk("the create replayed by external_id", raw, false)
}
