package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// Two tickets of one order may not refund more than the order paid, even when both
// are approved at once: the ledger refuses the one whose run asks last (a create
// answers before its run reserves anything, so either may) and the platform
// decides.
func TestOrderRefundCapAcrossTickets(t *testing.T) {
	order := fmt.Sprintf("order-cap-%d", time.Now().UnixNano())
	mk := func(c *models.CreateTicket) {
		c.OrderID, c.Kind, c.ReturnMethod, c.ReasonCode = order, models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived
		c.RequestedCents, c.BuyerCredit, c.PickupAddress = 8000, 3, ""
		c.Order = models.OrderInfo{PaidCents: 10000, PaidAt: time.Now().UTC()}
		c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 10000}}
	}
	a, b := newTicket(t, mk), newTicket(t, mk) // fast-reviewed: refunding at once
	if a.State != models.StateRefunding || b.State != models.StateRefunding {
		t.Fatalf("created %s and %s, want both refunding", a.State, b.State)
	}
	var paying, refused models.Ticket
	eventually(t, "one ticket's refund sent, the other escalated", func() (bool, string) {
		a, b = getTicket(t, a.ID), getTicket(t, b.ID)
		for _, p := range [][2]models.Ticket{{a, b}, {b, a}} {
			if p[1].State == models.StateEscalated && len(p[0].Refunds) == 1 && p[0].Refunds[0].Status != models.RefundPending {
				paying, refused = p[0], p[1]
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s %+v; %s %+v", a.State, a.Refunds, b.State, b.Refunds)
	})
	// The ledger refused the key before any provider call: void, and the platform decides.
	if len(refused.Refunds) != 1 || refused.Refunds[0].Status != models.RefundVoid ||
		!strings.Contains(refused.Escalation.Reason, "more than the 10000 cents paid") {
		t.Errorf("refused ticket: refunds %+v escalation %+v", refused.Refunds, refused.Escalation)
	}
	paymentEvent(t, paying.ID, refundKey(t, paying, 1), models.RefundSucceeded)
	waitState(t, paying.ID, models.StateCompleted)
	reserved, paid, err := h.db.OrderRefundTotal(t.Context(), order)
	if err != nil || reserved != 8000 || paid != 10000 {
		t.Errorf("order total: reserved %d paid %d %v", reserved, paid, err)
	}
	if h.payments.Paid(refused.Refunds[0].Key) != 0 {
		t.Error("the refused refund reached the provider")
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2<<20)
	var e apiError
	code := call(t, http.MethodPost, "/v1/tickets", "buyer", []byte(`{"reason":"`+string(big)+`"}`), &e)
	if code != http.StatusRequestEntityTooLarge || e.Error.Code != models.ETOOLARGE {
		t.Errorf("2 MiB body: %d %+v", code, e)
	}
}

// A retried action with the same Idempotency-Key is applied once.
func TestActionIdempotencyKey(t *testing.T) {
	tk := newTicket(t, nil)
	for range 3 {
		if code := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "looking into it"}, nil,
			"Idempotency-Key", "reply-1-"+tk.ID); code != http.StatusOK {
			t.Fatalf("reply: %d", code)
		}
	}
	replies := 0
	for _, e := range getTicket(t, tk.ID).Timeline {
		if e.Action == "reply" {
			replies++
		}
	}
	if replies != 1 {
		t.Errorf("%d replies recorded for one Idempotency-Key", replies)
	}
}

// The same payment webhook ten times at once is applied once.
func TestSameWebhookTenTimes(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.Kind, c.ReturnMethod, c.ReasonCode, c.PickupAddress = models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived, ""
		c.RequestedCents, c.BuyerCredit = 9000, 3
		c.Order = models.OrderInfo{PaidCents: 9000, PaidAt: time.Now().UTC()}
		c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 9000}}
	})
	ev := models.PaymentEvent{EventID: "same-" + tk.ID, TicketID: tk.ID, RefundKey: refundKey(t, tk, 1),
		Status: models.RefundSucceeded, ProviderRef: "ref-same"}
	waitSent(t, tk.ID, ev.RefundKey)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if code := postWebhook(t, "/v1/webhooks/payment", ev); code != http.StatusAccepted {
				t.Errorf("webhook: %d", code)
			}
		})
	}
	wg.Wait()
	tk = waitState(t, tk.ID, models.StateCompleted)
	succeeded := 0
	for _, e := range tk.Timeline {
		if e.Action == "refund_succeeded" {
			succeeded++
		}
	}
	if succeeded != 1 || tk.RefundedCents != 9000 || len(tk.Refunds) != 1 {
		t.Errorf("%d refund_succeeded entries, refunded %d, refunds %+v", succeeded, tk.RefundedCents, tk.Refunds)
	}
}
