package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// The README's example: a buyer returns 2 of the 3 cups of an order, the
// warehouse receives 1, and only that one is refunded. The ticket and the order
// answer show the figures per line, and the order's refunded per line is what
// the provider's own ledger paid for each line.
func TestReturnTwoOfThreeCupsOneArrives(t *testing.T) {
	orderID := fmt.Sprintf("order-cups-%d", orderSeq.Add(1))
	delivered := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	order := map[string]any{"shop_id": "shop-it", "buyer_id": "buyer-it", "paid_cents": 5500, "currency": "CNY",
		"paid_at": delivered.Add(-48 * time.Hour), "shipped_at": delivered.Add(-24 * time.Hour), "delivered_at": delivered,
		"items": []map[string]any{{"sku": "CUP", "qty": 3, "unit_paid_cents": 1000}, {"sku": "PLATE", "qty": 1, "unit_paid_cents": 2500}}}
	if code := call(t, http.MethodPut, "/v1/orders/"+orderID, "seller", order, nil); code != http.StatusCreated {
		t.Fatalf("register the order: %d", code)
	}
	var tk models.Ticket
	create := map[string]any{"order_id": orderID, "shop_id": "shop-it", "buyer_id": "buyer-it", "kind": "return_refund",
		"reason_code": "no_reason", "return_method": "self_ship", "currency": "CNY", "items": []map[string]any{{"sku": "CUP", "qty": 2}}}
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", create, &tk); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if tk.RequestedCents != 2000 || len(tk.Lines) != 1 || tk.Lines[0].RequestedCents != 2000 || tk.Lines[0].Qty != 2 {
		t.Fatalf("created: requested %d, lines %+v; want 2000 for 2 cups", tk.RequestedCents, tk.Lines)
	}
	mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	mustAct(t, "buyer", tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": "SF" + tk.ID[len(tk.ID)-8:]})
	courierEvent(t, tk.ID, models.CourierDelivered)
	waitState(t, tk.ID, models.StateAwaitingInspection)
	inspected := mustAct(t, "seller", tk.ID, "inspect", map[string]any{"result": "pass", "note": "one cup missing from the parcel",
		"lines": []map[string]any{{"sku": "CUP", "received": 1, "disposition": "restock"}}})
	if inspected.State != models.StateRefunding || len(inspected.Lines) != 1 || inspected.Lines[0].Received == nil || *inspected.Lines[0].Received != 1 {
		t.Fatalf("inspected: %s, lines %+v", inspected.State, inspected.Lines)
	}
	key := models.RefundKey(tk.ID, 1)
	paymentEvent(t, tk.ID, key, h.payments.Settle(t, key, models.RefundSucceeded).Status)
	done := waitState(t, tk.ID, models.StateCompleted)
	if done.Outcome != models.OutcomePartiallyRefunded || done.RefundedCents != 1000 || done.Lines[0].RefundedCents != 1000 {
		t.Fatalf("done: %s, refunded %d, lines %+v; want partially_refunded, 1000 for the one cup", done.Outcome, done.RefundedCents, done.Lines)
	}

	var o models.Order
	if code := call(t, http.MethodGet, "/v1/orders/"+orderID+"?shop_id=shop-it", "platform", nil, &o); code != http.StatusOK {
		t.Fatalf("GET order: %d", code)
	}
	want := []models.OrderLine{
		{SKU: "CUP", Qty: 3, UnitPaidCents: 1000, ReturnedUnits: 1, RequestedCents: 2000, ReceivedUnits: 1, RefundedCents: 1000},
		{SKU: "PLATE", Qty: 1, UnitPaidCents: 2500},
	}
	if fmt.Sprint(o.Lines) != fmt.Sprint(want) {
		t.Fatalf("order lines %+v, want %+v", o.Lines, want)
	}
	// The list shows the same lines.
	var page struct {
		Tickets []models.Ticket `json:"tickets"`
	}
	code := call(t, http.MethodGet, "/v1/tickets?rma="+done.RMA, "platform", nil, &page)
	if code != http.StatusOK || len(page.Tickets) != 1 {
		t.Fatalf("list by rma: %d, %d tickets", code, len(page.Tickets))
	}
	if listed, shown := jsonOf(t, page.Tickets[0].Lines), jsonOf(t, done.Lines); listed != shown {
		t.Errorf("the list shows lines %s, the ticket %s", listed, shown)
	}

	// The export's row of the ticket, per line.
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/tickets/export.csv?rma="+done.RMA, nil)
	req.Header.Set("Authorization", "Bearer "+h.keys["platform"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil || len(rows) != 2 {
		t.Fatalf("export: %d rows, %v", len(rows), err)
	}
	cell := map[string]string{}
	for i, name := range rows[0] {
		cell[name] = rows[1][i]
	}
	if cell["items"] != "CUP:2" || cell["items_received"] != "CUP:1" || cell["items_refunded_cents"] != "CUP:1000" {
		t.Errorf("export row items %q, received %q, refunded %q; want CUP:2, CUP:1, CUP:1000", cell["items"], cell["items_received"], cell["items_refunded_cents"])
	}
	provider := h.payments.NetByLine(orderID)
	for _, l := range o.Lines {
		if l.RefundedCents != provider[l.SKU] {
			t.Errorf("line %s: the order says %d refunded, the provider's ledger %d", l.SKU, l.RefundedCents, provider[l.SKU])
		}
	}

	// The cup that never arrived went back to the order: the buyer may ask for
	// it (and the third) in a ticket of its own.
	create["items"] = []map[string]any{{"sku": "CUP", "qty": 2}}
	create["reason_code"], create["kind"], create["return_method"] = "not_received", "refund_only", "none"
	var again models.Ticket
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", create, &again); code != http.StatusCreated {
		t.Fatalf("a ticket for the missing cup and the third: %d, want 201", code)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
