package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// Two shops that number their orders alike (DESIGN §2 Trust: an order is
// (shop, order id)) never block, read or change each other's: each registers
// its own record, its buyer's ticket reads its own paid amount, each watch is
// its own, and an id another shop holds is answered like one no one holds.
func TestOrdersOfTwoShops(t *testing.T) {
	id := fmt.Sprintf("%d", 3000+orderSeq.Add(1))
	path := "/v1/orders/" + id
	var e1, e2 apiError
	if code := call(t, http.MethodGet, path, "seller", nil, &e1); code != http.StatusNotFound {
		t.Fatalf("an order no one registered: %d, want 404", code)
	}
	if code := call(t, http.MethodPut, path, "other-seller", orderFacts("shop-other", "buyer-other", 8000), nil); code != http.StatusCreated {
		t.Fatalf("shop-other registers %s: %d", id, code)
	}
	if code := call(t, http.MethodGet, path, "seller", nil, &e2); code != http.StatusNotFound || e2 != e1 {
		t.Errorf("another shop's order: %d %+v; want the 404 of an order no one registered, %+v", code, e2, e1)
	}
	if code := call(t, http.MethodPut, path, "seller", orderFacts("shop-it", "buyer-it", 5000), nil); code != http.StatusCreated {
		t.Fatalf("shop-it registers its own %s after shop-other did: %d, want 201", id, code)
	}

	// Each buyer's ticket reads its own shop's record: all of what was paid there.
	open := func(key, shop, buyer string, paid int64) models.Ticket {
		t.Helper()
		c := models.CreateTicket{OrderID: id, ShopID: shop, BuyerID: buyer, Kind: models.KindRefundOnly,
			ReasonCode: models.ReasonNotReceived, RequestedCents: paid}
		var tk models.Ticket
		if code := call(t, http.MethodPost, "/v1/tickets", key, c, &tk); code != http.StatusCreated || tk.Order.PaidCents != paid {
			t.Fatalf("%s's ticket on its %s: %d, paid %d; want 201, paid %d", shop, id, code, tk.Order.PaidCents, paid)
		}
		return tk
	}
	mine := open("buyer", "shop-it", "buyer-it", 5000)
	theirs := open("other-buyer", "shop-other", "buyer-other", 8000)
	for key, want := range map[string]struct {
		shop   string
		paid   int64
		ticket string
	}{"seller": {"shop-it", 5000, mine.ID}, "other-seller": {"shop-other", 8000, theirs.ID}} {
		var o models.Order
		if code := call(t, http.MethodGet, path, key, nil, &o); code != http.StatusOK || o.ShopID != want.shop ||
			o.PaidCents != want.paid || len(o.TicketIDs) != 1 || o.TicketIDs[0] != want.ticket {
			t.Errorf("%s reads %s: %d %+v; want %s's, paid %d, tickets [%s]", key, id, code, o, want.shop, want.paid, want.ticket)
		}
		var p models.Order
		if code := call(t, http.MethodGet, path+"?shop_id="+want.shop, "platform", nil, &p); code != http.StatusOK || p.PaidCents != want.paid {
			t.Errorf("the platform reads %s of %s: %d %+v", id, want.shop, code, p)
		}
	}
	var missing apiError
	if code := call(t, http.MethodGet, path, "platform", nil, &missing); code != http.StatusUnprocessableEntity || !strings.Contains(missing.Error.Message, "shop_id") {
		t.Errorf("the platform names no shop: %d %+v; want 422 naming shop_id", code, missing)
	}
	// With a ticket, shop-it's paid amount is fixed; shop-other's buyer's ticket does not fix it twice.
	if code := call(t, http.MethodPut, path, "seller", orderFacts("shop-it", "buyer-it", 9000), nil); code != http.StatusConflict {
		t.Errorf("changing shop-it's paid amount under its ticket: %d, want 409", code)
	}

	// Each shop's watch of its order is its own: one shipped, the other still watching.
	var w1, w2 workflows.ShippingWatch
	if code := call(t, http.MethodPost, path+"/shipping-watch", "seller", map[string]any{}, &w1); code != http.StatusCreated || w1.ShopID != "shop-it" {
		t.Fatalf("shop-it's watch: %d %+v", code, w1)
	}
	if code := call(t, http.MethodPost, path+"/shipping-watch", "other-seller", map[string]any{}, &w2); code != http.StatusCreated || w2.ShopID != "shop-other" {
		t.Fatalf("shop-other's watch: %d %+v", code, w2)
	}
	if code := call(t, http.MethodPost, path+"/shipped", "seller", nil, &w1); code != http.StatusOK || w1.State != workflows.WatchShipped {
		t.Errorf("shop-it ships: %d %+v", code, w1)
	}
	if code := call(t, http.MethodGet, path+"/shipping-watch?shop_id=shop-other", "platform", nil, &w2); code != http.StatusOK ||
		w2.ShopID != "shop-other" || w2.State != workflows.WatchWatching {
		t.Errorf("shop-other's watch after shop-it shipped: %d %+v, want still watching", code, w2)
	}
}

// A watch started before orders were keyed by shop (its workflow id names the
// order alone) is still its shop's: found, shipped and not started twice by
// that shop, and invisible to another shop, which starts one of its own.
func TestLegacyShippingWatch(t *testing.T) {
	id := fmt.Sprintf("o-legacy-%d", orderSeq.Add(1))
	path := "/v1/orders/" + id
	facts := orderFacts("shop-it", "buyer-it", 10000)
	if code := call(t, http.MethodPut, path, "seller", facts, nil); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	p := models.DefaultPolicy()
	in := workflows.ShippingWatchInput{OrderID: id, ShopID: "shop-it", BuyerID: "buyer-it", PaidCents: 10000, Currency: "CNY",
		PaidAt: facts.PaidAt, ShipDeadline: p.ShipDeadline, Rule: p.ShippingCompensation}
	legacy := workflows.LegacyShippingWatchWorkflowID(id)
	if _, err := h.tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: legacy, TaskQueue: workflows.TaskQueue,
		Memo: map[string]any{"shop_id": "shop-it"}}, workflows.ShippingWatchWorkflow, in); err != nil {
		t.Fatal(err)
	}
	var w workflows.ShippingWatch
	if code := call(t, http.MethodPost, path+"/shipping-watch", "seller", map[string]any{}, &w); code != http.StatusCreated || w.ShopID != "shop-it" {
		t.Fatalf("start again: %d %+v", code, w)
	}
	if _, err := h.tc.DescribeWorkflowExecution(t.Context(), workflows.ShippingWatchWorkflowID("shop-it", id), ""); err == nil {
		t.Errorf("a second watch was started beside the one from before")
	}
	// Another shop's order of that id has no watch, and starts its own.
	if code := call(t, http.MethodGet, path+"/shipping-watch", "other-seller", nil, nil); code != http.StatusNotFound {
		t.Errorf("another shop reads the older watch: %d, want 404", code)
	}
	body := map[string]any{"buyer_id": "buyer-other", "paid_cents": 3000, "paid_at": facts.PaidAt}
	if code := call(t, http.MethodPost, path+"/shipping-watch", "other-seller", body, &w); code != http.StatusCreated || w.ShopID != "shop-other" {
		t.Fatalf("another shop's own watch: %d %+v", code, w)
	}
	if code := call(t, http.MethodPost, path+"/shipped", "seller", nil, &w); code != http.StatusOK || w.State != workflows.WatchShipped || w.ShopID != "shop-it" {
		t.Errorf("the older watch shipped: %d %+v", code, w)
	}
	var run workflows.ShippingWatch
	if err := h.tc.GetWorkflow(t.Context(), legacy, "").Get(t.Context(), &run); err != nil || run.State != workflows.WatchShipped {
		t.Errorf("the older watch's run: %+v, %v; want it shipped", run, err)
	}
	if code := call(t, http.MethodGet, path+"/shipping-watch", "other-seller", nil, &w); code != http.StatusOK || w.State != workflows.WatchWatching {
		t.Errorf("the other shop's watch: %d %+v, want still watching", code, w)
	}
}
