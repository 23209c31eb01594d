package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// Inputs the contract refuses get a 422 that names the field, and change
// nothing: an empty currency or external_id sent as such, order facts or
// buyer_credit from a buyer (even empty), recent_returns from anyone, order
// times that cannot be (before 2000, or in the future beyond clock skew), and
// an order whose lines are worth more than was paid.
func TestContractRefusals(t *testing.T) {
	create := withCreate(t, func(*models.CreateTicket) {})
	body := map[string]any{"order_id": create.OrderID, "shop_id": create.ShopID, "buyer_id": create.BuyerID,
		"kind": string(create.Kind), "requested_cents": create.RequestedCents}
	with := func(field string, v any) map[string]any { return renamed(body, field, field, v) }
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	facts := func(edit func(map[string]any)) map[string]any {
		m := asMap(t, orderFacts("shop-it", "buyer-it", 5000))
		m["items"] = []map[string]any{{"sku": "SKU-1", "qty": 2, "unit_paid_cents": 2500}}
		edit(m)
		return m
	}
	sellerCreate := func(paidAt string) map[string]any {
		m := with("order", map[string]any{"paid_cents": 100, "paid_at": paidAt})
		m["order_id"] = fmt.Sprintf("o-refuse-%d", orderSeq.Add(1))
		return m
	}
	cases := []struct {
		name, method, key string
		body              map[string]any
		field             string
		path              string // "" for /v1/orders/{a new id}
	}{
		{"an empty currency", "POST", "buyer", with("currency", ""), "currency", "/v1/tickets"},
		{"a currency of null", "POST", "buyer", with("currency", nil), "currency", "/v1/tickets"},
		{"an empty external_id", "POST", "buyer", with("external_id", ""), "external_id", "/v1/tickets"},
		{"an empty order from a buyer", "POST", "buyer", with("order", map[string]any{}), "order", "/v1/tickets"},
		{"an order of null from a buyer", "POST", "buyer", with("order", nil), "order", "/v1/tickets"},
		{"buyer_credit 0 from a buyer", "POST", "buyer", with("buyer_credit", 0), "buyer_credit", "/v1/tickets"},
		{"recent_returns 0", "POST", "platform", with("recent_returns", 0), "recent_returns", "/v1/tickets"},
		{"a seller's order paid in year 0", "POST", "seller", sellerCreate("0000-01-01T00:00:00Z"), "paid_at", "/v1/tickets"},
		{"an order record with an empty currency", "PUT", "seller", facts(func(m map[string]any) { m["currency"] = "" }), "currency", ""},
		{"an order paid in year 0", "PUT", "seller", facts(func(m map[string]any) { m["paid_at"] = "0000-01-01T00:00:00Z" }), "paid_at", ""},
		{"an order paid in 1999", "PUT", "seller", facts(func(m map[string]any) { m["paid_at"] = "1999-12-31T23:59:59Z" }), "paid_at", ""},
		{"an order paid tomorrow", "PUT", "seller", facts(func(m map[string]any) { m["paid_at"] = future }), "paid_at", ""},
		{"an order delivered in year 0", "PUT", "seller", facts(func(m map[string]any) { m["delivered_at"] = "0000-01-01T00:00:00Z" }), "delivered_at", ""},
		{"an order shipped tomorrow", "PUT", "seller", facts(func(m map[string]any) { m["shipped_at"] = future }), "shipped_at", ""},
		{"lines worth more than was paid", "PUT", "seller", facts(func(m map[string]any) {
			m["items"] = []map[string]any{{"sku": "SKU-1", "qty": 2, "unit_paid_cents": 2500}, {"sku": "SKU-2", "qty": 1, "unit_paid_cents": 1}}
		}), "items", ""},
		{"a watch on an order paid in year 0", "POST", "seller", facts(func(m map[string]any) {
			m["paid_at"] = "0000-01-01T00:00:00Z"
			delete(m, "items")
			delete(m, "freight_insurance")
		}), "paid_at", "watch"},
	}
	var fresh []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			switch path {
			case "":
				path = fmt.Sprintf("/v1/orders/o-refuse-%d", orderSeq.Add(1))
				fresh = append(fresh, path)
			case "watch":
				o := fmt.Sprintf("/v1/orders/o-refuse-%d", orderSeq.Add(1))
				path = o + "/shipping-watch"
				fresh = append(fresh, o)
			}
			var e apiError
			got := call(t, c.method, path, c.key, c.body, &e)
			if got != http.StatusUnprocessableEntity || e.Error.Code != models.EINVALID || !strings.Contains(e.Error.Message, c.field) {
				t.Errorf("%d %q %q, want 422 naming %s", got, e.Error.Code, e.Error.Message, c.field)
			}
			if id, ok := c.body["order_id"].(string); ok && id != create.OrderID {
				fresh = append(fresh, "/v1/orders/"+id)
			}
		})
	}
	var o models.Order
	if code := call(t, http.MethodGet, "/v1/orders/"+create.OrderID+"?shop_id=shop-it", "platform", nil, &o); code != http.StatusOK || len(o.TicketIDs) != 0 {
		t.Errorf("refused creates opened tickets: %d %v", code, o.TicketIDs)
	}
	for _, path := range fresh {
		if code := call(t, http.MethodGet, path+"?shop_id=shop-it", "platform", nil, nil); code != http.StatusNotFound {
			t.Errorf("%s after a refused request: %d, want 404", path, code)
		}
	}
	// The bounds are the contract's and no tighter: paid a minute ago, or a
	// minute ahead of our clock, is a real order.
	for _, at := range []time.Time{time.Now().Add(-time.Minute), time.Now().Add(time.Minute)} {
		path := fmt.Sprintf("/v1/orders/o-refuse-%d", orderSeq.Add(1))
		if code := call(t, http.MethodPut, path, "seller", facts(func(m map[string]any) { m["paid_at"] = at.UTC().Format(time.RFC3339) }), nil); code != http.StatusCreated {
			t.Errorf("an order paid at %s: %d, want 201", at.Format(time.RFC3339), code)
		}
	}
}
