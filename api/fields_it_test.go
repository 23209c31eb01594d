package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// asMap is a body as a client would build it by hand.
func asMap(t *testing.T, body any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// renamed is m with the field from renamed to, holding v.
func renamed(m map[string]any, from, to string, v any) map[string]any {
	m = maps.Clone(m)
	delete(m, from)
	m[to] = v
	return m
}

// Field names match exactly, case included, in every JSON body the API
// decodes: a name in another case, an unknown name or a name sent twice is a
// 422 that names it, and changes nothing. encoding/json would have taken
// "REQUESTED_CENTS" for requested_cents.
func TestFieldNamesMatchExactly(t *testing.T) {
	tk := newTicket(t, nil)
	create := withCreate(t, func(c *models.CreateTicket) { c.RequestedCents = 100 })
	body := map[string]any{"order_id": create.OrderID, "shop_id": create.ShopID, "buyer_id": create.BuyerID,
		"kind": string(create.Kind), "requested_cents": 100, "currency": "CNY"}
	watchOrder := fmt.Sprintf("o-fields-%d", orderSeq.Add(1))
	putOrder := fmt.Sprintf("o-fields-%d", orderSeq.Add(1))
	facts := asMap(t, orderFacts("shop-it", "buyer-it", 5000))
	courier := []byte(`{"Event_ID":"fields-1","ticket_id":"AS-none","type":"picked_up"}`)
	payment := []byte(`{"event_id":"fields-2","ticket_id":"AS-none","Refund_Key":"x:refund:1","status":"succeeded"}`)
	cases := []struct {
		name, method, path, key string
		body                    any
		headers                 []string
		field                   string
	}{
		{"an amount in capitals", "POST", "/v1/tickets", "buyer", renamed(body, "requested_cents", "REQUESTED_CENTS", 7777), nil, "REQUESTED_CENTS"},
		{"an id in mixed case", "POST", "/v1/tickets", "buyer", renamed(body, "order_id", "Order_ID", create.OrderID), nil, "Order_ID"},
		{"a field sent twice", "POST", "/v1/tickets", "buyer",
			[]byte(`{"order_id":"` + create.OrderID + `","shop_id":"shop-it","buyer_id":"buyer-it","kind":"refund_only","requested_cents":1,"requested_cents":100}`), nil, "requested_cents"},
		{"a line's sku in capitals", "POST", "/v1/tickets", "buyer", renamed(body, "items", "items", []map[string]any{{"SKU": "SKU-1", "qty": 1}}), nil, "SKU"},
		{"an action's message", "POST", "/v1/tickets/" + tk.ID + "/reply", "seller", map[string]any{"Message": "hello"}, nil, "Message"},
		{"an order's amount", "PUT", "/v1/orders/" + putOrder, "seller", renamed(facts, "paid_cents", "Paid_Cents", 5000), nil, "Paid_Cents"},
		{"a buyer's credit", "PUT", "/v1/buyers/buyer-fields", "platform", map[string]any{"Credit": 3}, nil, "Credit"},
		{"a watch's shop", "POST", "/v1/orders/" + watchOrder + "/shipping-watch", "seller",
			map[string]any{"Shop_ID": "shop-it", "buyer_id": "buyer-it", "paid_cents": 5000, "paid_at": time.Now().Add(-time.Hour).UTC()}, nil, "Shop_ID"},
		{"a courier event's id", "POST", "/v1/webhooks/courier", "", courier, signedBy(h.courierKeys, "fields-1", time.Now(), courier), "Event_ID"},
		{"a payment event's key", "POST", "/v1/webhooks/payment", "", payment, signedBy(h.paymentKeys, "fields-2", time.Now(), payment), "Refund_Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e apiError
			got := call(t, c.method, c.path, c.key, c.body, &e, c.headers...)
			if got != http.StatusUnprocessableEntity || e.Error.Code != models.EINVALID || !strings.Contains(e.Error.Message, c.field) {
				t.Errorf("%d %q %q, want 422 naming %s", got, e.Error.Code, e.Error.Message, c.field)
			}
		})
	}
	var o models.Order
	if code := call(t, http.MethodGet, "/v1/orders/"+create.OrderID+"?shop_id=shop-it", "platform", nil, &o); code != http.StatusOK || len(o.TicketIDs) != 0 {
		t.Errorf("refused creates opened tickets: %d %v", code, o.TicketIDs)
	}
	for _, id := range []string{putOrder, watchOrder} {
		if code := call(t, http.MethodGet, "/v1/orders/"+id+"?shop_id=shop-it", "platform", nil, nil); code != http.StatusNotFound {
			t.Errorf("order %s after a refused body: %d, want 404", id, code)
		}
	}
	if after := getTicket(t, tk.ID); after.Seq != tk.Seq || after.Replies != tk.Replies {
		t.Errorf("a refused reply changed the ticket: seq %d→%d", tk.Seq, after.Seq)
	}
}
