package api_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
)

// refundOnly is a refund-only create of want cents on an order paid paid cents,
// fast-reviewed (refunding at once). The order is registered without lines:
// no units to hold, so several tickets may claim it and the order's money cap
// is what stands between them.
func refundOnly(order string, want, paid int64) func(*models.CreateTicket) {
	return func(c *models.CreateTicket) {
		c.OrderID, c.Kind, c.ReturnMethod, c.ReasonCode = order, models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived
		c.RequestedCents, c.BuyerCredit, c.PickupAddress = want, 3, ""
		c.Order = models.OrderInfo{PaidCents: paid, PaidAt: time.Now().UTC()}
		c.Items = nil
	}
}

// waitMoney waits until the ticket shows key with status.
func waitMoney(t *testing.T, id, key string, status models.MoneyStatus) models.Ticket {
	t.Helper()
	var tk models.Ticket
	eventually(t, fmt.Sprintf("ticket %s shows %s %s", id, key, status), func() (bool, string) {
		tk = getTicket(t, id)
		i := tk.Refunds.Find(key)
		return i >= 0 && tk.Refunds[i].Status == status, fmt.Sprintf("%s %+v", tk.State, tk.Refunds)
	})
	return tk
}

// A key the provider confirmed failed pays after all, after the ticket ended
// refunded under a new key: the ended ticket still hears of it, charges the
// excess back, and the read model, the ledger and the provider's own ledger
// agree on what the buyer holds.
func TestVoidKeyPaysAfterTheEnd(t *testing.T) {
	tk := newTicket(t, refundOnly(fmt.Sprintf("order-late-%d", time.Now().UnixNano()), 8000, 10000))
	k1 := waitRefunds(t, tk.ID, 1)[0].Key
	postPayment(t, h.payments.Settle(t, k1, models.RefundFailed)) // looked up, confirmed: void
	k2 := waitRefunds(t, tk.ID, 2)[1].Key
	postPayment(t, h.payments.Settle(t, k2, models.RefundSucceeded))
	tk = waitState(t, tk.ID, models.StateCompleted)
	if tk.RefundedCents != 8000 || tk.Refunds[0].Status != models.RefundVoid {
		t.Fatalf("ended with %d refunded, money %+v", tk.RefundedCents, tk.Refunds)
	}
	postPayment(t, h.payments.SettleAgain(t, k1, models.RefundSucceeded)) // and yet it pays
	refunds := waitRefunds(t, tk.ID, 3)
	back := refunds[2]
	if back.Purpose != models.PurposeOverpaid || back.AmountCents != 8000 {
		t.Fatalf("the excess is not charged back: %+v", refunds)
	}
	postPayment(t, h.payments.Settle(t, back.Key, models.RefundSucceeded))
	tk = waitMoney(t, tk.ID, back.Key, models.RefundSucceeded)
	provider := h.payments.Net(k1, k2, back.Key)
	if provider != 8000 || tk.RefundedCents != provider {
		t.Fatalf("the provider moved %d net to the buyer, the ticket shows %d; want 8000", provider, tk.RefundedCents)
	}
	if reserved, _, err := h.db.OrderRefundTotal(t.Context(), tk.ShopID, tk.OrderID); err != nil || reserved != 8000 {
		t.Fatalf("the ledger holds %d refunded on the order (%v), want 8000", reserved, err)
	}
}

// Two tickets of one order paid 10 000: A's key is confirmed void (its room
// goes back), B is paid the whole order, then A's key pays after all. The
// ledger reports A's key took the order over; A charges it back, and the order
// ends with 10 000 refunded, never more.
func TestLateSuccessAcrossTicketsOfOneOrder(t *testing.T) {
	order, a, a1 := voidedFirstTicket(t, "order-two")
	b := newTicket(t, refundOnly(order, 10000, 10000))
	b1 := waitRefunds(t, b.ID, 1)[0].Key
	postPayment(t, h.payments.Settle(t, b1, models.RefundSucceeded))
	waitState(t, b.ID, models.StateCompleted)

	postPayment(t, h.payments.SettleAgain(t, a1, models.RefundSucceeded))
	refunds := waitRefunds(t, a.ID, 2)
	back := refunds[1]
	if back.Purpose != models.PurposeOverpaid || back.AmountCents != 10000 {
		t.Fatalf("A does not charge back what took the order over: %+v", refunds)
	}
	postPayment(t, h.payments.Settle(t, back.Key, models.RefundSucceeded))
	waitMoney(t, a.ID, back.Key, models.RefundSucceeded)
	if net := h.payments.Net(a1, back.Key, b1); net != 10000 {
		t.Fatalf("the provider moved %d net on an order paid 10000", net)
	}
	if reserved, paid, err := h.db.OrderRefundTotal(t.Context(), "shop-it", order); err != nil || reserved != 10000 || paid != 10000 {
		t.Fatalf("the ledger holds %d of %d refunded (%v)", reserved, paid, err)
	}
}

// The ledger measures an order's excess on money that moved: A's key, given up
// on, pays after all while B's key is only on its way, and fits in the order;
// B's payment is the one that takes the order over, and the ledger's word on it
// reaches B with the provider's webhook (no lookup), so B charges it back.
func TestOrderOverToldWithTheWebhook(t *testing.T) {
	order, a, a1 := voidedFirstTicket(t, "order-webhook-over")
	b := newTicket(t, refundOnly(order, 10000, 10000))
	b1 := waitRefunds(t, b.ID, 1)[0].Key // reserved, not paid yet

	postPayment(t, h.payments.SettleAgain(t, a1, models.RefundSucceeded))
	waitState(t, a.ID, models.StateCompleted)
	if refunds := waitRefunds(t, a.ID, 1); len(refunds) != 1 {
		t.Fatalf("A's payment fits in the order, yet A moves more money: %+v", refunds)
	}

	postPayment(t, h.payments.Settle(t, b1, models.RefundSucceeded))
	refunds := waitRefunds(t, b.ID, 2)
	back := refunds[1]
	if back.Purpose != models.PurposeOverpaid || back.AmountCents != 10000 {
		t.Fatalf("B does not charge back what its payment took the order over: %+v", refunds)
	}
	postPayment(t, h.payments.Settle(t, back.Key, models.RefundSucceeded))
	waitMoney(t, b.ID, back.Key, models.RefundSucceeded)
	if net := h.payments.Net(a1, b1, back.Key); net != 10000 {
		t.Fatalf("the provider moved %d net on an order paid 10000", net)
	}
}

// A refund the provider paid and then reports failed, after the ticket ended:
// the money came back (a bank returned it). The ticket asks the provider by key,
// records the reversal in the ticket and the ledger, and pays again under a new
// key; the provider's own ledger and ours agree at the end.
func TestReversedRefundPaidAgain(t *testing.T) {
	order := fmt.Sprintf("order-reversed-%d", time.Now().UnixNano())
	tk := newTicket(t, refundOnly(order, 10000, 10000))
	k1 := waitRefunds(t, tk.ID, 1)[0].Key
	postPayment(t, h.payments.Settle(t, k1, models.RefundSucceeded))
	waitState(t, tk.ID, models.StateCompleted)

	postPayment(t, h.payments.SettleAgain(t, k1, models.RefundFailed))
	waitMoney(t, tk.ID, k1, models.RefundReversed)
	refunds := waitRefunds(t, tk.ID, 2)
	k2 := refunds[1]
	if k2.Purpose != models.PurposeRefund || k2.AmountCents != 10000 {
		t.Fatalf("the reversed refund is not paid again: %+v", refunds)
	}
	postPayment(t, h.payments.Settle(t, k2.Key, models.RefundSucceeded))
	got := waitMoney(t, tk.ID, k2.Key, models.RefundSucceeded)
	if net := h.payments.Net(k1, k2.Key); net != 10000 || got.RefundedCents != 10000 {
		t.Fatalf("the provider moved %d net, the ticket shows %d; the request was 10000", net, got.RefundedCents)
	}
	if row, err := h.db.GetRefund(t.Context(), k1); err != nil || row.Status != models.RefundReversed {
		t.Fatalf("the ledger holds %s as %+v (%v), want reversed", k1, row, err)
	}
	if reserved, paid, err := h.db.OrderRefundTotal(t.Context(), "shop-it", order); err != nil || reserved != 10000 || paid != 10000 {
		t.Fatalf("the ledger holds %d of %d refunded (%v)", reserved, paid, err)
	}
}

// voidedFirstTicket opens ticket A for the whole of a new order paid 10 000, on
// a shop that gives up after one voided key (so A stops before taking the room
// again), and has the provider fail A's first key: A escalates with its room
// given back. It returns the order, A and A's key.
func voidedFirstTicket(t *testing.T, prefix string) (string, models.Ticket, string) {
	t.Helper()
	order := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	cfg := h.cfg
	cfg.Policy.RefundAttempts = 1
	hs := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(hs.Close)
	a := newTicketOn(t, endpoint{url: hs.URL, keys: h.keys}, refundOnly(order, 10000, 10000))
	a1 := waitRefunds(t, a.ID, 1)[0].Key
	postPayment(t, h.payments.Settle(t, a1, models.RefundFailed))
	waitState(t, a.ID, models.StateEscalated)
	return order, a, a1
}
