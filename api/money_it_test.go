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
		c.Items = nil // no lines to hold: the money cap is what stands between the two
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
	reserved, paid, err := h.db.OrderRefundTotal(t.Context(), "shop-it", order)
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

// A payment provider that answers 422 to every refund of the order (a closed
// account): each key is void at once, never looked up and sent again; after
// refund_attempts keys the platform is called in; it reconciles the last key as
// paid by hand, the ledger records it, and the ticket ends refunded.
func TestProviderRefusalEscalatesAndReconciles(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.OrderID = fmt.Sprintf("%s%d", closedAccount, time.Now().UnixNano())
		c.Kind, c.ReturnMethod, c.ReasonCode = models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived
		c.RequestedCents, c.BuyerCredit, c.PickupAddress = 8000, 3, ""
		c.Order = models.OrderInfo{PaidCents: 10000, PaidAt: time.Now().UTC()}
		c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 10000}}
	})
	attempts := h.cfg.Policy.RefundAttempts
	tk = waitState(t, tk.ID, models.StateEscalated)
	if len(tk.Refunds) != attempts {
		t.Fatalf("%d keys for %d attempts: %+v", len(tk.Refunds), attempts, tk.Refunds)
	}
	for _, r := range tk.Refunds {
		row, err := h.db.GetRefund(t.Context(), r.Key)
		if r.Status != models.RefundVoid || err != nil || row.Status != models.RefundVoid || h.payments.Paid(r.Key) != 0 {
			t.Fatalf("refused key %s: ticket %s, ledger %+v (%v), provider paid %d", r.Key, r.Status, row, err, h.payments.Paid(r.Key))
		}
	}
	last := tk.Refunds[len(tk.Refunds)-1].Key
	// Only the platform reconciles, and only forwards.
	if code, _, _ := act(t, "seller", tk.ID, "reconcile", map[string]string{"key": last, "status": "succeeded", "note": "x"}); code != http.StatusForbidden {
		t.Fatalf("a seller's reconcile: %d", code)
	}
	if code, _, e := act(t, "platform", tk.ID, "reconcile", map[string]string{"key": last, "status": "succeeded"}); code != http.StatusUnprocessableEntity {
		t.Fatalf("a reconcile without a note: %d %+v", code, e)
	}
	mustAct(t, "platform", tk.ID, "reconcile", map[string]string{"key": last, "status": "succeeded",
		"note": "paid by bank transfer, console ref BT-77"})
	// The ledger is written in the action's own workflow task (a local attempt the
	// answer waits for), never paced like a call to a provider that is down.
	if row, err := h.db.GetRefund(t.Context(), last); err != nil || row.Status != models.RefundSucceeded {
		t.Fatalf("the ledger after the reconcile: %+v %v", row, err)
	}
	tk = waitState(t, tk.ID, models.StateCompleted)
	if reserved, _, err := h.db.OrderRefundTotal(t.Context(), tk.ShopID, tk.OrderID); err != nil || reserved != 8000 {
		t.Fatalf("the order holds %d refunded (%v), want 8000", reserved, err)
	}
	reconciled := false
	for _, e := range tk.Timeline {
		reconciled = reconciled || e.Action == "reconcile" && e.Actor == "agent-it" && strings.Contains(e.Note, "BT-77")
	}
	if !reconciled {
		t.Fatalf("no audited reconcile entry: %+v", tk.Timeline)
	}
}
