package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

func TestCreateReadListAndSearchAttributes(t *testing.T) {
	tk := newTicket(t, nil)
	if tk.State != models.StatePendingReview || tk.Deadline == nil || tk.Deadline.Name != "review_by" {
		t.Fatalf("new ticket: state %s deadline %+v, want pending_review with review_by", tk.State, tk.Deadline)
	}
	if want := tk.CreatedAt.Add(48 * time.Hour); !tk.Deadline.At.Equal(want) {
		t.Errorf("review_by %s, want created_at+48h %s", tk.Deadline.At, want)
	}
	if tk.PolicyVersion != "it-1" || tk.Seq == 0 || len(tk.Timeline) == 0 || tk.Timeline[0].Action != "create" {
		t.Errorf("policy %q seq %d timeline %+v", tk.PolicyVersion, tk.Seq, tk.Timeline)
	}

	got := getTicket(t, tk.ID)
	if got.ID != tk.ID || got.State != tk.State || len(got.Timeline) != len(tk.Timeline) {
		t.Errorf("GET differs from create: %+v", got)
	}
	var list struct {
		Tickets []models.Ticket `json:"tickets"`
	}
	if code := call(t, http.MethodGet, "/v1/tickets?shop_id=shop-it&state=pending_review&limit=200", "seller", nil, &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	if !containsTicket(list.Tickets, tk.ID) {
		t.Errorf("list of shop-it does not hold %s", tk.ID)
	}

	// The ticket is findable in visibility by what an operator types in the Web UI.
	query := fmt.Sprintf(`WorkflowId = %q AND TicketState = "pending_review" AND ShopID = "shop-it" AND OrderID = %q AND ExecutionStatus = "Running"`,
		workflows.TicketWorkflowID(tk.ID), tk.OrderID)
	// Visibility is indexed asynchronously.
	var res *workflowservice.ListWorkflowExecutionsResponse
	eventually(t, "ticket visible with "+query, func() (bool, string) {
		var err error
		res, err = h.tc.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("visibility query: %v", err)
		}
		return len(res.Executions) == 1, fmt.Sprintf("%d executions", len(res.Executions))
	})
	sa := res.Executions[0].GetSearchAttributes().GetIndexedFields()
	for _, k := range []string{"TicketKind", "SLADeadline", "Escalated"} {
		if sa[k] == nil {
			t.Errorf("search attribute %s missing", k)
		}
	}
}

func containsTicket(list []models.Ticket, id string) bool {
	for _, t := range list {
		if t.ID == id {
			return true
		}
	}
	return false
}

func TestCreateIsIdempotent(t *testing.T) {
	body := models.CreateTicket{OrderID: fmt.Sprintf("order-idem-%d", time.Now().UnixNano()), ShopID: "shop-it", BuyerID: "buyer-it",
		Kind: models.KindRefundOnly, ReasonCode: models.ReasonNotReceived, RequestedCents: 1000,
		Order: models.OrderInfo{PaidCents: 5000, PaidAt: time.Now().UTC()}}
	key := "idem-" + body.OrderID
	body = asBuyer(t, body)
	var first, second models.Ticket
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", body, &first, "Idempotency-Key", key); code != http.StatusCreated {
		t.Fatalf("first create: %d", code)
	}
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", body, &second, "Idempotency-Key", key); code != http.StatusOK {
		t.Fatalf("same key, same body: %d, want 200", code)
	}
	if first.ID != second.ID {
		t.Errorf("same key gave tickets %s and %s", first.ID, second.ID)
	}
	body.RequestedCents = 2000
	var e apiError
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", body, &e, "Idempotency-Key", key); code != http.StatusConflict {
		t.Fatalf("same key, other body: %d, want 409", code)
	}
	if !strings.Contains(e.Error.Message, key) || strings.Contains(e.Error.Message, first.ID) {
		t.Errorf("conflict message %q should name the key, not the ticket", e.Error.Message)
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	tk := newTicket(t, nil)
	cases := []struct {
		name, method, path, key string
		body                    any
		want                    int
		code                    string
	}{
		{"no key", "GET", "/v1/tickets/" + tk.ID, "", nil, 401, models.EUNAUTHORIZED},
		{"other shop sees nothing", "GET", "/v1/tickets/" + tk.ID, "other-seller", nil, 404, models.ENOTFOUND},
		{"other buyer sees nothing", "GET", "/v1/tickets/" + tk.ID, "other-buyer", nil, 404, models.ENOTFOUND},
		{"buyer may not list", "GET", "/v1/tickets", "buyer", nil, 403, models.EFORBIDDEN},
		{"seller lists only its shop", "GET", "/v1/tickets?shop_id=shop-other", "seller", nil, 403, models.EFORBIDDEN},
		{"unknown field", "POST", "/v1/tickets", "buyer", map[string]any{"order_idd": "x"}, 422, models.EINVALID},
		{"missing order", "POST", "/v1/tickets", "buyer", map[string]any{"shop_id": "shop-it", "buyer_id": "buyer-it", "kind": "refund_only"}, 422, models.EINVALID},
		{"buyer for someone else", "POST", "/v1/tickets", "buyer", createBody("buyer-other"), 403, models.EFORBIDDEN},
		{"buyer may not approve", "POST", "/v1/tickets/" + tk.ID + "/approve", "buyer", map[string]any{}, 403, models.EFORBIDDEN},
		{"reject needs a reason", "POST", "/v1/tickets/" + tk.ID + "/reject", "seller", map[string]any{}, 422, models.EINVALID},
		{"not in this state", "POST", "/v1/tickets/" + tk.ID + "/inspect", "seller", map[string]any{"result": "pass"}, 409, models.ECONFLICT},
		{"unknown action", "POST", "/v1/tickets/" + tk.ID + "/teleport", "seller", map[string]any{}, 404, models.ENOTFOUND},
		{"bad list filter", "GET", "/v1/tickets?state=lost", "platform", nil, 422, models.EINVALID},
		{"not JSON", "POST", "/v1/tickets", "buyer", []byte(`{"order_id": "o-1",`), 400, models.EMALFORMED},
		{"JSON of the wrong type", "POST", "/v1/tickets", "buyer", []byte(`{"requested_cents": "lots"}`), 422, models.EINVALID},
		{"order id with a formula", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.OrderID = "=HYPERLINK(1)" }), 422, models.EINVALID},
		{"order id of 65 characters", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.OrderID = strings.Repeat("o", 65) }), 422, models.EINVALID},
		{"a currency that is not ISO 4217", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.Currency = "XYZ" }), 422, models.EINVALID},
		{"101 items", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) {
			c.Items = make([]models.Item, 101)
			for i := range c.Items {
				c.Items[i] = models.Item{SKU: "sku-1", Qty: 1, UnitPaidCents: 1}
			}
		}), 422, models.EINVALID},
		{"an amount above 10^12", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.RequestedCents = 1_000_000_000_001 }), 422, models.EINVALID},
		{"a buyer stating the order", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.Order = models.OrderInfo{PaidCents: 1, PaidAt: time.Now()} }), 422, models.EINVALID},
		{"a buyer stating its credit", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.BuyerCredit = 5 }), 422, models.EINVALID},
		{"an unregistered order", "POST", "/v1/tickets", "buyer", withCreate(t, func(c *models.CreateTicket) { c.OrderID = "o-nobody-registered" }), 422, models.EINVALID},
		{"within of 213504 days", "GET", "/v1/reports/warnings?within=213504d", "platform", nil, 422, models.EINVALID},
		{"within of 367 days", "GET", "/v1/reports/warnings?within=367d", "platform", nil, 422, models.EINVALID},
		{"an Idempotency-Key of 1001 characters", "POST", "/v1/tickets/" + tk.ID + "/reply", "seller", map[string]any{"message": "x"}, 422, models.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e apiError
			var headers []string
			if strings.Contains(c.name, "Idempotency-Key") {
				headers = []string{"Idempotency-Key", strings.Repeat("k", 1001)}
			}
			if got := call(t, c.method, c.path, c.key, c.body, &e, headers...); got != c.want || e.Error.Code != c.code || e.Error.Message == "" {
				t.Errorf("status %d code %q message %q, want %d %q with a message", got, e.Error.Code, e.Error.Message, c.want, c.code)
			}
		})
	}
	after := getTicket(t, tk.ID)
	if after.Seq != tk.Seq || after.State != tk.State {
		t.Errorf("refused requests changed the ticket: seq %d→%d state %s→%s", tk.Seq, after.Seq, tk.State, after.State)
	}
}

// withCreate is a valid create body for the buyer key, its order registered,
// changed by edit.
func withCreate(t *testing.T, edit func(*models.CreateTicket)) models.CreateTicket {
	c := createBody("buyer-it")
	c.OrderID = fmt.Sprintf("o-bad-%d", orderSeq.Add(1))
	c = asBuyer(t, c)
	edit(&c)
	return c
}

func createBody(buyer string) models.CreateTicket {
	return models.CreateTicket{OrderID: "o-x", ShopID: "shop-it", BuyerID: buyer, Kind: models.KindRefundOnly,
		RequestedCents: 100, Order: models.OrderInfo{PaidCents: 100, PaidAt: time.Now().UTC()}}
}

func TestWebhookSignatures(t *testing.T) {
	ev := []byte(`{"event_id":"sig-1","ticket_id":"AS-none","type":"picked_up"}`)
	now := time.Now()
	stale := signedBy(h.courierKeys, "sig-1", now.Add(-6*time.Minute), ev)
	replayed := append(append([]string{}, stale...), webhook.HeaderTimestamp, fmt.Sprint(now.Unix()))
	bodyOnly := hmac.New(sha256.New, []byte("a body-only signature"))
	bodyOnly.Write(ev)
	rotated, err := webhook.ParseKeys(webhook.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		path    string
		body    []byte
		headers []string
		want    int
	}{
		{"missing headers", "/v1/webhooks/courier", ev, nil, 401},
		{"the old X-Signature header", "/v1/webhooks/courier", ev, []string{"X-Signature", "sha256=" + hex.EncodeToString(bodyOnly.Sum(nil)), "X-Timestamp", fmt.Sprint(now.Unix())}, 401},
		{"an unknown key", "/v1/webhooks/courier", ev, signedBy(rotated, "sig-1", now, ev), 401},
		{"the payment provider's key on the courier endpoint", "/v1/webhooks/courier", ev, signedBy(h.paymentKeys, "sig-1", now, ev), 401},
		{"stale timestamp", "/v1/webhooks/courier", ev, stale, 401},
		{"captured signature with a fresh timestamp", "/v1/webhooks/courier", ev, replayed, 401},
		{"altered body", "/v1/webhooks/courier", []byte(strings.Replace(string(ev), "picked_up", "delivered", 1)), signedBy(h.courierKeys, "sig-1", now, ev), 401},
		{"webhook-id is not the event_id", "/v1/webhooks/courier", ev, signedBy(h.courierKeys, "sig-2", now, ev), 422},
		{"not JSON", "/v1/webhooks/courier", []byte(`{"event_id":`), signedBy(h.courierKeys, "sig-1", now, []byte(`{"event_id":`)), 400},
		{"valid, unknown ticket: no leak", "/v1/webhooks/courier", ev, signedBy(h.courierKeys, "sig-1", now, ev), 202},
		{"the same event again", "/v1/webhooks/courier", ev, signedBy(h.courierKeys, "sig-1", now, ev), 202},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := call(t, http.MethodPost, c.path, "", c.body, nil, c.headers...); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
}

// TestWebhookEventsDeduplicated: the database records an event id the first time;
// a repeat is answered as a duplicate, another body under the same id is refused.
func TestWebhookEventsDeduplicated(t *testing.T) {
	id := fmt.Sprintf("dedupe-%d", eventSeq.Add(1))
	ev := []byte(`{"event_id":"` + id + `","ticket_id":"AS-none","type":"delivered"}`)
	var got struct {
		Duplicate bool `json:"duplicate"`
	}
	if st := call(t, http.MethodPost, "/v1/webhooks/courier", "", ev, &got, signedBy(h.courierKeys, id, time.Now(), ev)...); st != 202 || got.Duplicate {
		t.Fatalf("first delivery: %d duplicate=%v", st, got.Duplicate)
	}
	if st := call(t, http.MethodPost, "/v1/webhooks/courier", "", ev, &got, signedBy(h.courierKeys, id, time.Now(), ev)...); st != 202 || !got.Duplicate {
		t.Fatalf("repeat: %d duplicate=%v, want 202 and duplicate", st, got.Duplicate)
	}
	other := []byte(`{"event_id":"` + id + `","ticket_id":"AS-none","type":"picked_up"}`)
	if st := call(t, http.MethodPost, "/v1/webhooks/courier", "", other, nil, signedBy(h.courierKeys, id, time.Now(), other)...); st != 409 {
		t.Fatalf("same event id, another body: %d, want 409", st)
	}
}
