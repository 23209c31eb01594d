package api_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestAccessMatrix: role × route × ownership. Every refused request is refused
// with the documented status and leaves the ticket and the order as they were.
func TestAccessMatrix(t *testing.T) {
	tk := newTicket(t, nil)
	order := "/v1/orders/" + tk.OrderID
	// The platform and buyers name the order's shop (DESIGN §2 Trust: an order
	// is (shop, order id)); a seller's is its own.
	ofShop := order + "?shop_id=" + tk.ShopID
	var before struct {
		PaidCents int64  `json:"paid_cents"`
		ShopID    string `json:"shop_id"`
	}
	call(t, http.MethodGet, ofShop, "platform", nil, &before)
	ticket := "/v1/tickets/" + tk.ID
	body := map[string]any{"reason": "r", "message": "m", "verdict": "support_buyer", "score": 5}
	facts := orderFacts(tk.ShopID, "buyer-it", 1)
	cases := []struct {
		method, path, key string
		want              int
	}{
		{http.MethodGet, ticket, "", 401},
		{http.MethodGet, ticket, "other-buyer", 404},
		{http.MethodGet, ticket, "other-seller", 404},
		{http.MethodPost, ticket + "/approve", "buyer", 403},
		{http.MethodPost, ticket + "/approve", "other-buyer", 404},
		{http.MethodPost, ticket + "/approve", "other-seller", 404},
		{http.MethodPost, ticket + "/arbitrate", "seller", 403},
		{http.MethodPost, ticket + "/arbitrate", "buyer", 403},
		{http.MethodPost, ticket + "/cancel", "seller", 403},
		{http.MethodPost, ticket + "/revise", "seller", 403},
		{http.MethodPost, ticket + "/reply", "other-seller", 404},
		{http.MethodPost, ticket + "/evaluate", "other-buyer", 404},
		{http.MethodGet, "/v1/tickets", "buyer", 403},
		{http.MethodGet, "/v1/tickets?shop_id=shop-it", "other-seller", 403},
		{http.MethodGet, "/v1/tickets/export.csv", "buyer", 403},
		{http.MethodGet, "/v1/reports/sla", "buyer", 403},
		{http.MethodGet, "/v1/reports/warnings", "buyer", 403},
		{http.MethodGet, "/v1/reports/sla?shop_id=shop-it", "other-seller", 403},
		{http.MethodGet, ofShop, "other-buyer", 404},
		{http.MethodGet, order, "other-seller", 404},
		{http.MethodGet, ofShop, "other-seller", 404},
		{http.MethodGet, order, "platform", 422}, // which shop's?
		{http.MethodGet, order, "", 401},
		{http.MethodPut, order, "buyer", 403},
		{http.MethodPut, order, "other-seller", 403}, // a body naming another shop
		{http.MethodPut, "/v1/buyers/buyer-it", "seller", 403},
		{http.MethodPut, "/v1/buyers/buyer-it", "buyer", 403},
		{http.MethodPost, order + "/shipping-watch?shop_id=" + tk.ShopID, "other-seller", 404},
		// The other shop has no such order, and an empty body registers none.
		{http.MethodPost, order + "/shipping-watch", "other-seller", 422},
		{http.MethodPost, order + "/shipping-watch", "buyer", 403},
		{http.MethodPost, order + "/shipped", "other-seller", 404},
		{http.MethodPost, order + "/shipped", "buyer", 403},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s as %s", c.method, c.path, c.key), func(t *testing.T) {
			var b any = body
			if c.method == http.MethodPut {
				b = facts
			}
			if c.method == http.MethodGet {
				b = nil
			} else if c.method == http.MethodPost && c.path[:len("/v1/orders")] == "/v1/orders" {
				b = map[string]any{}
			}
			if got := call(t, c.method, c.path, c.key, b, nil); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
	after := getTicket(t, tk.ID)
	if after.Seq != tk.Seq || after.State != tk.State {
		t.Errorf("refused requests changed the ticket: seq %d→%d, state %s→%s", tk.Seq, after.Seq, tk.State, after.State)
	}
	var now struct {
		PaidCents int64  `json:"paid_cents"`
		ShopID    string `json:"shop_id"`
	}
	call(t, http.MethodGet, ofShop, "platform", nil, &now)
	if now != before {
		t.Errorf("refused requests changed the order: %+v → %+v", before, now)
	}
}
