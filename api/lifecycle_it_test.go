package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// assertPaidOnce checks both sides of every succeeded refund: our ledger row and
// the provider's ledger, exactly one payment per key.
func assertPaidOnce(t *testing.T, tk models.Ticket) {
	t.Helper()
	for _, r := range tk.Refunds {
		if n := h.payments.Paid(r.Key); n != 1 {
			t.Errorf("provider paid %s %d times, want once", r.Key, n)
		}
		row, err := h.db.GetRefund(t.Context(), r.Key)
		if err != nil || row.AmountCents != r.AmountCents {
			t.Errorf("ledger row for %s: %+v, %v", r.Key, row, err)
		}
	}
}

func refundKey(t *testing.T, tk models.Ticket, n int) string {
	t.Helper()
	if len(tk.Refunds) < n {
		t.Fatalf("ticket %s has %d refunds, want at least %d", tk.ID, len(tk.Refunds), n)
	}
	return tk.Refunds[n-1].Key
}

func TestPickupReturnToRefund(t *testing.T) {
	tk := newTicket(t, nil)
	tk = mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	if tk.State != models.StateAwaitingPickup {
		t.Fatalf("after approve: %s", tk.State)
	}
	// The approval answers at once; the courier's booking follows it.
	eventually(t, "the pickup is booked", func() (bool, string) {
		tk = getTicket(t, tk.ID)
		return tk.Logistics.PickupBooking != "", fmt.Sprintf("timeline %+v", tk.Timeline)
	})
	courierEvent(t, tk.ID, models.CourierPickedUp)
	waitState(t, tk.ID, models.StateInTransit)
	courierEvent(t, tk.ID, models.CourierDelivered)
	courierEvent(t, tk.ID, models.CourierDelivered) // a duplicate delivery report changes nothing
	waitState(t, tk.ID, models.StateAwaitingInspection)
	tk = mustAct(t, "seller", tk.ID, "inspect", map[string]any{"result": "pass"})
	if tk.State != models.StateRefunding {
		t.Fatalf("after inspection: %s", tk.State)
	}
	key := refundKey(t, tk, 1)
	if key != tk.ID+":refund:1" {
		t.Errorf("refund key %q", key)
	}
	paymentEvent(t, tk.ID, key, models.RefundSucceeded)
	tk = waitState(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 129900 || tk.Flags.LightningRefund {
		t.Errorf("completed: outcome %s refunded %d lightning %v", tk.Outcome, tk.RefundedCents, tk.Flags.LightningRefund)
	}
	assertPaidOnce(t, tk)
}

func TestLightningRefundAtPickup(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) { c.BuyerCredit = 4 })
	mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	courierEvent(t, tk.ID, models.CourierPickedUp)
	tk = waitState(t, tk.ID, models.StateInTransit)
	if !tk.Flags.LightningRefund {
		t.Fatalf("eligible return not lightning-refunded at pickup: %+v", tk.Flags)
	}
	paymentEvent(t, tk.ID, refundKey(t, tk, 1), models.RefundSucceeded)
	eventually(t, "lightning refund recorded before arrival", func() (bool, string) {
		got := getTicket(t, tk.ID)
		return got.RefundedCents == 129900, fmt.Sprintf("refunded %d cents, state %s", got.RefundedCents, got.State)
	})
	courierEvent(t, tk.ID, models.CourierDelivered)
	tk = waitState(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || len(tk.Refunds) != 1 {
		t.Errorf("outcome %s, refunds %+v: want refunded with exactly one refund", tk.Outcome, tk.Refunds)
	}
	assertPaidOnce(t, tk)
}

func TestEscalationVerdict(t *testing.T) {
	tk := newTicket(t, nil)
	mustAct(t, "seller", tk.ID, "reject", map[string]any{"reason": "item shows wear"})
	tk = mustAct(t, "buyer", tk.ID, "escalate", map[string]any{"reason": "it arrived like that"})
	if tk.State != models.StateEscalated || !tk.Flags.Escalated || tk.Deadline.Name != "evidence_by" {
		t.Fatalf("after escalate: %s %+v %+v", tk.State, tk.Flags, tk.Deadline)
	}
	mustAct(t, "buyer", tk.ID, "evidence", map[string]any{"note": "unboxing video", "urls": []string{"https://example.invalid/v.mp4"}})
	if code, _, _ := act(t, "seller", tk.ID, "arbitrate", map[string]any{"verdict": "support_seller"}); code != http.StatusForbidden {
		t.Errorf("seller arbitrating: %d, want 403", code)
	}
	tk = mustAct(t, "platform", tk.ID, "arbitrate", map[string]any{"verdict": "support_buyer", "refund_cents": 50000, "note": "video shows damage"})
	if tk.State != models.StateRefunding || tk.Escalation == nil || tk.Escalation.Verdict != models.VerdictSupportBuyer {
		t.Fatalf("after verdict: %s %+v", tk.State, tk.Escalation)
	}
	paymentEvent(t, tk.ID, refundKey(t, tk, 1), models.RefundSucceeded)
	tk = waitState(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomePartiallyRefunded || tk.RefundedCents != 50000 {
		t.Errorf("outcome %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	assertPaidOnce(t, tk)
}

func TestSwapOnDelivery(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.Kind, c.ReturnMethod, c.ExchangeSKU, c.RequestedCents, c.ReasonCode = models.KindExchange, models.ReturnSwapOnDelivery, "SKU-1-L", 0, models.ReasonQuality
	})
	tk = mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	if tk.State != models.StateAwaitingPickup || tk.Deadline.Name != "pickup_by" {
		t.Fatalf("after approve: %s %+v", tk.State, tk.Deadline)
	}
	courierEvent(t, tk.ID, models.CourierSwapCompleted)
	tk = waitState(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeSwapped || len(tk.Refunds) != 0 {
		t.Errorf("outcome %s refunds %+v", tk.Outcome, tk.Refunds)
	}
}

func TestShippingCompensation(t *testing.T) {
	order := fmt.Sprintf("order-ship-%d", time.Now().UnixNano())
	body := map[string]any{"shop_id": "shop-it", "buyer_id": "buyer-it", "paid_cents": 259900, "currency": "CNY",
		"paid_at": time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)}
	var w workflows.ShippingWatch
	if code := call(t, http.MethodPost, "/v1/orders/"+order+"/shipping-watch", "seller", body, &w); code != http.StatusCreated {
		t.Fatalf("start watch: %d", code)
	}
	watch := func(want string) {
		t.Helper()
		eventually(t, "watch of order "+order+" "+want, func() (bool, string) {
			w = workflows.ShippingWatch{}
			code := call(t, http.MethodGet, "/v1/orders/"+order+"/shipping-watch", "seller", nil, &w)
			return code == http.StatusOK && w.State == want && w.CompensationKey != "" && h.payments.Paid(w.CompensationKey) == 1,
				fmt.Sprintf("%d %+v", code, w)
		})
	}
	// Paid, and compensating until the provider confirms it.
	watch(workflows.WatchCompensating)
	if w.CompensationCents != 50000 { // 30 % of 2599 CNY is 779.70, capped at 500 CNY
		t.Errorf("compensation %d cents, want 50000", w.CompensationCents)
	}
	// The provider's answer reaches the ledger and the watch, which shows it.
	ev := models.PaymentEvent{EventID: fmt.Sprintf("comp-%d", eventSeq.Add(1)), RefundKey: w.CompensationKey, Status: models.RefundSucceeded}
	if code := postWebhook(t, "/v1/webhooks/payment", ev); code != http.StatusAccepted {
		t.Fatalf("compensation webhook: %d", code)
	}
	watch(workflows.WatchCompensated)
	if w.PaymentStatus != models.RefundSucceeded {
		t.Errorf("after the provider's success: payment_status %q, want succeeded", w.PaymentStatus)
	}
	// The watch belongs to the order's shop: another shop cannot start or read it.
	_, intruder := newShop(t)
	if code := intruder.call(t, http.MethodPost, "/v1/orders/"+order+"/shipping-watch", "seller", map[string]any{"shop_id": "x"}, nil); code != http.StatusNotFound {
		t.Errorf("another shop starting the watch: %d, want 404", code)
	}

	shipped := fmt.Sprintf("order-ok-%d", time.Now().UnixNano())
	body["paid_at"] = time.Now().UTC().Format(time.RFC3339)
	if code := call(t, http.MethodPost, "/v1/orders/"+shipped+"/shipping-watch", "seller", body, nil); code != http.StatusCreated {
		t.Fatalf("start watch: %d", code)
	}
	// Another shop's seller cannot tell the watch the order shipped: 404, and the
	// watch still watches (it would otherwise end and the buyer lose the compensation).
	_, other := newShop(t)
	if code := other.call(t, http.MethodPost, "/v1/orders/"+shipped+"/shipped", "seller", nil, nil); code != http.StatusNotFound {
		t.Errorf("another shop's shipped: %d, want 404", code)
	}
	w = workflows.ShippingWatch{}
	if code := call(t, http.MethodGet, "/v1/orders/"+shipped+"/shipping-watch", "seller", nil, &w); code != http.StatusOK || w.State != workflows.WatchWatching {
		t.Errorf("after another shop's shipped: %d %+v, want watching", code, w)
	}
	// The answer to "shipped" is the watch as the signal left it: ended, shipped.
	w = workflows.ShippingWatch{}
	if code := call(t, http.MethodPost, "/v1/orders/"+shipped+"/shipped", "seller", nil, &w); code != http.StatusOK {
		t.Fatalf("shipped: %d", code)
	}
	if w.State != workflows.WatchShipped || w.CompensationCents != 0 {
		t.Errorf("shipped in time: %+v", w)
	}
}
