package api_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/ordersource"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
)

func orderFacts(shop, buyer string, paid int64) models.OrderFacts {
	return models.OrderFacts{ShopID: shop, BuyerID: buyer, PaidCents: paid, Currency: "CNY", PaidAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Second)}
}

// The order record (DESIGN §2 Trust, §4): who may register, read and change it,
// and what a refused request leaves unchanged.
func TestOrderRecords(t *testing.T) {
	id := fmt.Sprintf("o-rec-%d", orderSeq.Add(1))
	path := "/v1/orders/" + id
	facts := orderFacts("shop-it", "buyer-it", 5000)
	var o models.Order
	if code := call(t, http.MethodPut, path, "seller", facts, &o); code != http.StatusCreated || o.OrderID != id || o.PaidCents != 5000 || o.TicketIDs == nil || o.CreatedAt.IsZero() {
		t.Fatalf("register: %d %+v", code, o)
	}
	if code := call(t, http.MethodPut, path, "seller", facts, &o); code != http.StatusOK {
		t.Fatalf("register again: %d, want 200", code)
	}
	cases := []struct {
		name, method, key string
		body              any
		want              int
	}{
		{"a seller registers for another shop", http.MethodPut, "other-seller", orderFacts("shop-it", "buyer-it", 1), http.StatusForbidden},
		{"a buyer registers its own order", http.MethodPut, "buyer", orderFacts("shop-it", "buyer-it", 1), http.StatusForbidden},
		{"paid nothing", http.MethodPut, "seller", orderFacts("shop-it", "buyer-it", 0), http.StatusUnprocessableEntity},
		{"not JSON", http.MethodPut, "seller", []byte(`{"shop_id":`), http.StatusBadRequest},
		{"another buyer reads it", http.MethodGet, "other-buyer", nil, http.StatusNotFound},
		{"another shop reads it", http.MethodGet, "other-seller", nil, http.StatusNotFound},
		{"its buyer reads it", http.MethodGet, "buyer", nil, http.StatusOK},
		{"the platform reads it", http.MethodGet, "platform", nil, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := path
			if c.method == http.MethodGet {
				at += "?shop_id=shop-it" // a seller's shop is its own; the others name it
			}
			if got := call(t, c.method, at, c.key, c.body, nil); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
	var after models.Order
	call(t, http.MethodGet, path+"?shop_id=shop-it", "platform", nil, &after)
	if after.ShopID != "shop-it" || after.PaidCents != 5000 {
		t.Fatalf("refused requests changed the record: %+v", after)
	}

	// The buyer names the order; the ticket takes its facts from the record.
	c := createBody("buyer-it")
	c.OrderID, c.Order, c.RequestedCents = id, models.OrderInfo{}, 4000
	var tk models.Ticket
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, &tk); code != http.StatusCreated || tk.Order.PaidCents != 5000 {
		t.Fatalf("buyer's create: %d paid %d", code, tk.Order.PaidCents)
	}
	c.RequestedCents = 6000
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("asking more than the record says was paid: %d, want 422", code)
	}
	if code := call(t, http.MethodGet, path+"?shop_id=shop-it", "buyer", nil, &after); code != http.StatusOK || len(after.TicketIDs) != 1 || after.TicketIDs[0] != tk.ID {
		t.Errorf("the record lists tickets %v, want [%s]", after.TicketIDs, tk.ID)
	}
	// With a ticket, the paid amount is fixed; other facts still change.
	facts.PaidCents = 9000
	if code := call(t, http.MethodPut, path, "seller", facts, nil); code != http.StatusConflict {
		t.Errorf("changing paid_cents with a ticket: %d, want 409", code)
	}
	facts.PaidCents, facts.FreightInsurance = 5000, true
	if code := call(t, http.MethodPut, path, "seller", facts, &after); code != http.StatusOK || !after.FreightInsurance {
		t.Errorf("adding freight insurance: %d %+v", code, after)
	}
	// Another buyer cannot open a ticket on it: the same answer as for an unknown order.
	c2 := createBody("buyer-other")
	c2.OrderID, c2.Order = id, models.OrderInfo{}
	if code := call(t, http.MethodPost, "/v1/tickets", "other-buyer", c2, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("another buyer's ticket on the order: %d, want 422", code)
	}
}

// shopAPI is the API with its own policy, for rules a policy switches.
func shopAPI(t *testing.T, edit func(*models.Policy), buyers ...string) endpoint {
	t.Helper()
	cfg := h.cfg
	edit(&cfg.Policy)
	// Each buyer named gets a key of its own, "buyer:<id>", on this server.
	e := endpoint{keys: maps.Clone(h.keys)}
	list := slices.Clone(h.keyList)
	for _, b := range buyers {
		e.keys["buyer:"+b] = "buyer-key-" + b + "-0123456789"
		list = append(list, api.Key{Key: e.keys["buyer:"+b], Role: models.RoleBuyer, Subject: b})
	}
	keys, err := api.NewKeys(list)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = keys
	hs := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// createFor opens a refund-only ticket of 100 CNY for a buyer after the shop
// registered the order: as the buyer (its key on e, see shopAPI), or, with
// bySeller, as the shop's seller, who names the buyer.
func createFor(t *testing.T, e endpoint, buyer string, bySeller ...bool) models.Ticket {
	t.Helper()
	id := fmt.Sprintf("o-risk-%d", orderSeq.Add(1))
	if code := e.call(t, http.MethodPut, "/v1/orders/"+id, "seller", orderFacts("shop-it", buyer, 10000), nil); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	c := models.CreateTicket{OrderID: id, ShopID: "shop-it", BuyerID: buyer, Kind: models.KindRefundOnly,
		ReasonCode: models.ReasonNotReceived, RequestedCents: 10000}
	key := "buyer:" + buyer
	if len(bySeller) > 0 && bySeller[0] {
		key = "seller"
	}
	var tk models.Ticket
	if code := e.call(t, http.MethodPost, "/v1/tickets", key, c, &tk); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	return tk
}

// Fast review reads only the platform's buyer record and our own count of the
// buyer's tickets, never the create: a flagged buyer is never fast-reviewed, and
// a shop can be switched off by the policy.
func TestBuyerRiskDecidesFastReview(t *testing.T) {
	buyer := fmt.Sprintf("buyer-risk-%d", orderSeq.Add(1))
	if code := call(t, http.MethodPut, "/v1/buyers/"+buyer, "seller", map[string]any{"credit": 5}, nil); code != http.StatusForbidden {
		t.Errorf("a seller rating a buyer: %d, want 403", code)
	}
	if code := call(t, http.MethodPut, "/v1/buyers/"+buyer, "platform", map[string]any{"credit": 6}, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("credit 6: %d, want 422", code)
	}
	e := shopAPI(t, func(p *models.Policy) { p.FastReview.MaxRecentReturns = 1 }, buyer)
	if tk := createFor(t, e, buyer); tk.Flags.FastReviewed {
		t.Errorf("a buyer the platform never rated (credit 0) was fast-reviewed")
	}
	if code := call(t, http.MethodPut, "/v1/buyers/"+buyer, "platform", map[string]any{"credit": 5}, nil); code != http.StatusOK {
		t.Fatalf("rate the buyer: %d", code)
	}
	if tk := createFor(t, e, buyer); !tk.Flags.FastReviewed {
		t.Errorf("credit 5, one earlier ticket (limit 1): not fast-reviewed")
	}
	if tk := createFor(t, e, buyer); tk.Flags.FastReviewed {
		t.Errorf("two earlier tickets (limit 1): fast-reviewed all the same; recent returns are not counted")
	}

	// Tickets a seller opened for a buyer do not count against the buyer: one
	// shop cannot lower a buyer's standing at another.
	opened := fmt.Sprintf("buyer-opened-%d", orderSeq.Add(1))
	call(t, http.MethodPut, "/v1/buyers/"+opened, "platform", map[string]any{"credit": 5}, nil)
	o := shopAPI(t, func(p *models.Policy) { p.FastReview.MaxRecentReturns = 1 }, opened)
	for range 3 {
		createFor(t, o, opened, true)
	}
	if tk := createFor(t, o, opened); !tk.Flags.FastReviewed {
		t.Errorf("three tickets a seller opened for the buyer counted as the buyer's returns: not fast-reviewed")
	}

	flagged := fmt.Sprintf("buyer-flagged-%d", orderSeq.Add(1))
	if code := call(t, http.MethodPut, "/v1/buyers/"+flagged, "platform", map[string]any{"credit": 5, "flagged": true, "note": "chargebacks"}, nil); code != http.StatusOK {
		t.Fatalf("flag the buyer: %d", code)
	}
	if tk := createFor(t, shopAPI(t, func(*models.Policy) {}, flagged), flagged); tk.Flags.FastReviewed {
		t.Errorf("a flagged buyer was fast-reviewed")
	}

	off := false
	rated := fmt.Sprintf("buyer-rated-%d", orderSeq.Add(1))
	closed := shopAPI(t, func(p *models.Policy) { p.Shops = map[string]models.ShopRule{"shop-it": {FastReview: &off}} }, rated)
	call(t, http.MethodPut, "/v1/buyers/"+rated, "platform", map[string]any{"credit": 5}, nil)
	if tk := createFor(t, closed, rated); tk.Flags.FastReviewed {
		t.Errorf("fast review switched off for shop-it, ticket fast-reviewed")
	}
}

// An order the store does not have is read from the shop's order system through
// the order source, and kept.
func TestOrderSourceSuppliesUnknownOrders(t *testing.T) {
	id := fmt.Sprintf("o-oms-%d", orderSeq.Add(1))
	oms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/orders/"+id {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"shop_id":"shop-it","buyer_id":"buyer-it","paid_cents":7000,"currency":"CNY","paid_at":%q,"items":[]}`,
			time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	}))
	defer oms.Close()
	cfg := h.cfg
	cfg.Orders = &ordersource.HTTP{BaseURL: oms.URL}
	hs := httptest.NewServer(api.New(cfg).Handler())
	defer hs.Close()
	e := endpoint{url: hs.URL, keys: h.keys}
	c := createBody("buyer-it")
	c.OrderID, c.Order, c.RequestedCents = id, models.OrderInfo{}, 7000
	var tk models.Ticket
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", c, &tk); code != http.StatusCreated || tk.Order.PaidCents != 7000 {
		t.Fatalf("create on an order only the shop's system knows: %d paid %d", code, tk.Order.PaidCents)
	}
	var o models.Order
	if code := call(t, http.MethodGet, "/v1/orders/"+id+"?shop_id=shop-it", "platform", nil, &o); code != http.StatusOK || o.PaidCents != 7000 || len(o.TicketIDs) != 1 {
		t.Errorf("the record read is kept: %d %+v", code, o)
	}
	c.OrderID = "o-the-shop-does-not-know"
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", c, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("an order neither knows: %d, want 422", code)
	}
}

// Over its rate a principal gets 429 with Retry-After; another principal does not.
func TestRateLimit(t *testing.T) {
	cfg := h.cfg
	cfg.RateLimit, cfg.RateBurst = 0.5, 2
	hs := httptest.NewServer(api.New(cfg).Handler())
	defer hs.Close()
	e := endpoint{url: hs.URL, keys: h.keys}
	for i := range 2 {
		if code := e.call(t, http.MethodGet, "/v1/tickets", "platform", nil, nil); code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i+1, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+h.keys["platform"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Errorf("over the rate: %d Retry-After %q, want 429 and 2", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if code := e.call(t, http.MethodGet, "/v1/tickets", "seller", nil, nil); code != http.StatusOK {
		t.Errorf("another principal: %d, want 200", code)
	}
}

// Found in review: each of these was accepted, or answered wrongly, before.
func TestTrustReviewFindings(t *testing.T) {
	// A seller cannot rate a buyer (a platform record, the same for every shop).
	c := createBody("buyer-it")
	c.OrderID, c.BuyerCredit = fmt.Sprintf("o-tr-%d", orderSeq.Add(1)), 5
	var e apiError
	if code := call(t, http.MethodPost, "/v1/tickets", "seller", c, &e); code != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "buyer_credit") {
		t.Errorf("a seller's buyer_credit: %d %q, want 422 naming buyer_credit", code, e.Error.Message)
	}
	// A buyer's items must be lines of the order.
	c = createBody("buyer-it")
	c.OrderID = fmt.Sprintf("o-tr-%d", orderSeq.Add(1))
	c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 100}}
	c = asBuyer(t, c)
	c.Items = []models.Item{{SKU: "GOLD-BAR", Qty: 1000, UnitPaidCents: 100}}
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, &e); code != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "items[0]") {
		t.Errorf("items not in the order: %d %q, want 422 naming items[0]", code, e.Error.Message)
	}
	// The same create under one external_id replays, though the buyer's recent
	// returns (filled in by the server) changed with the first ticket.
	c.Items, c.ExternalID = nil, "case-"+c.OrderID
	var first, again models.Ticket
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, &first); code != http.StatusCreated {
		t.Fatalf("create with external_id: %d", code)
	}
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, &again); code != http.StatusOK || again.ID != first.ID {
		t.Errorf("the same create again: %d %s, want 200 and %s", code, again.ID, first.ID)
	}
	// Header values the store could not keep are refused or replaced, never a 500.
	if code := call(t, http.MethodPost, "/v1/tickets/"+first.ID+"/reply", "seller", map[string]any{"message": "x"}, nil, "Idempotency-Key", "k\xffé"); code != http.StatusUnprocessableEntity {
		t.Errorf("an Idempotency-Key with control bytes: %d, want 422", code)
	}
	var tk models.Ticket
	long := strings.Repeat("r", 300)
	if code := call(t, http.MethodPost, "/v1/tickets/"+first.ID+"/reply", "seller", map[string]any{"message": "y"}, &tk, "X-Request-ID", long); code != http.StatusOK {
		t.Fatalf("a 300-character X-Request-ID: %d, want 200", code)
	}
	got := getTicket(t, first.ID)
	if last := got.Timeline[len(got.Timeline)-1]; last.RequestID == long || last.RequestID == "" {
		t.Errorf("the audit trail kept request id %q; want one of ours", last.RequestID)
	}
}
