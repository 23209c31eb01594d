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
// are approved at once: the ledger refuses the one that asks last and the
// platform decides.
func TestOrderRefundCapAcrossTickets(t *testing.T) {
	order := fmt.Sprintf("order-cap-%d", time.Now().UnixNano())
	mk := func(c *models.CreateTicket) {
		c.OrderID, c.Kind, c.ReturnMethod, c.ReasonCode = order, models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived
		c.RequestedCents, c.BuyerCredit, c.PickupAddress = 8000, 3, ""
		c.Order = models.OrderInfo{PaidCents: 10000, PaidAt: time.Now().UTC()}
	}
	first := newTicket(t, mk) // fast-reviewed: refunding at once
	if first.State != models.StateRefunding {
		t.Fatalf("first: %s", first.State)
	}
	// The create answers before the ticket's run has reserved its key: the
	// second asks once the first's money is at the provider.
	waitSent(t, first.ID, refundKey(t, first, 1))
	second := newTicket(t, mk)
	second = waitState(t, second.ID, models.StateEscalated)
	// The ledger refused the key before any provider call: void, and the platform decides.
	if len(second.Refunds) != 1 || second.Refunds[0].Status != models.RefundVoid ||
		!strings.Contains(second.Escalation.Reason, "more than the 10000 cents paid") {
		t.Errorf("second ticket: refunds %+v escalation %+v", second.Refunds, second.Escalation)
	}
	paymentEvent(t, first.ID, refundKey(t, first, 1), models.RefundSucceeded)
	waitState(t, first.ID, models.StateCompleted)
	reserved, paid, err := h.db.OrderRefundTotal(t.Context(), order)
	if err != nil || reserved != 8000 || paid != 10000 {
		t.Errorf("order total: reserved %d paid %d %v", reserved, paid, err)
	}
	if h.payments.Paid(second.Refunds[0].Key) != 0 {
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
