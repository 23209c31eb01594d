package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// The double refund of the core issue, over HTTP: the provider reports key :1
// failed, the ticket looks it up, the provider confirms, key :2 is paid, and then
// :1 succeeds after all. The ticket records the truth and charges the excess
// back: the buyer ends with what was asked, not twice that.
func TestDoubleRefundSequence(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.Kind, c.ReturnMethod, c.ReasonCode, c.PickupAddress = models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived, ""
		c.RequestedCents, c.Order.PaidCents, c.Items[0].UnitPaidCents = 9000, 9000, 9000
	})
	tk = mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	first := waitRefunds(t, tk.ID, 1)[0].Key
	postPayment(t, h.payments.Settle(t, first, models.RefundFailed))
	second := waitRefunds(t, tk.ID, 2)[1]
	if second.Key == first || second.AmountCents != 9000 {
		t.Fatalf("after :1 failed and was confirmed: %+v", getTicket(t, tk.ID).Refunds)
	}
	postPayment(t, h.payments.Settle(t, second.Key, models.RefundSucceeded))
	waitState(t, tk.ID, models.StateCompleted)
	// The provider pays the first key after all: a late success.
	postPayment(t, models.PaymentEvent{EventID: "late-" + first, TicketID: tk.ID, RefundKey: first,
		Status: models.RefundSucceeded, ProviderRef: "late"})
	charge := waitRefunds(t, tk.ID, 3)[2]
	if charge.Purpose != models.PurposeOverpaid || charge.AmountCents != 9000 {
		t.Fatalf("the overpayment is not charged back: %+v", getTicket(t, tk.ID).Refunds)
	}
	postPayment(t, h.payments.Settle(t, charge.Key, models.RefundSucceeded))
	var end models.Ticket
	eventually(t, "the charge back is recorded", func() (bool, string) {
		end = getTicket(t, tk.ID)
		return end.Refunds[2].Status == models.RefundSucceeded, fmt.Sprintf("%+v", end.Refunds)
	})
	if end.RefundedCents > end.RequestedCents {
		t.Errorf("refunded_cents %d is more than the %d asked", end.RefundedCents, end.RequestedCents)
	}
	if end.RefundedCents != 9000 {
		t.Errorf("refunded_cents %d, want the 9000 asked", end.RefundedCents)
	}
}

// 190 replies at the 2 000-character limit leave the ticket working and its
// history bounded: each reply costs its own size once, not the ticket's.
func TestManyLongRepliesKeepTheTicketWorking(t *testing.T) {
	tk := newTicket(t, nil)
	msg := strings.Repeat("回", models.MaxTextChars)
	for i := range 190 {
		if code, _, e := act(t, "seller", tk.ID, "reply", map[string]any{"message": msg}); code != http.StatusOK {
			t.Fatalf("reply %d: %d %s", i+1, code, e.Error.Message)
		}
	}
	code, _, e := act(t, "seller", tk.ID, "reply", map[string]any{"message": msg + "x"})
	if code != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "message") {
		t.Errorf("a reply over the limit: %d %+v", code, e)
	}
	after := mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	if after.State != models.StateAwaitingPickup {
		t.Errorf("after 190 replies approve left the ticket in %s", after.State)
	}
	if n := len(after.Timeline); n < 192 {
		t.Errorf("timeline has %d entries after 190 replies", n)
	}
	d, err := h.tc.DescribeWorkflowExecution(t.Context(), workflows.TicketWorkflowID(tk.ID), "")
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	info := d.WorkflowExecutionInfo
	t.Logf("after 190 replies of %d characters: this run's history holds %d events, %d bytes",
		models.MaxTextChars, info.GetHistoryLength(), info.GetHistorySizeBytes())
	// 190 replies make well over the 1 000 events after which a ticket continues as
	// new: the ticket went on in a new run, carrying its state, and its history
	// stays far below Temporal's limits (each reply is in it about three times).
	if info.GetFirstRunId() == info.GetExecution().GetRunId() {
		t.Errorf("still the first run after %d events: the ticket did not continue as new", info.GetHistoryLength())
	}
	if limit := int64(4 << 20); info.GetHistorySizeBytes() > limit {
		t.Errorf("history is %d bytes, more than %d", info.GetHistorySizeBytes(), limit)
	}
}

func waitRefunds(t *testing.T, id string, n int) []models.Refund {
	t.Helper()
	var tk models.Ticket
	eventually(t, fmt.Sprintf("ticket %s has %d money movements sent", id, n), func() (bool, string) {
		tk = getTicket(t, id)
		return len(tk.Refunds) >= n && tk.Refunds[n-1].Status != models.RefundPending, fmt.Sprintf("%+v", tk.Refunds)
	})
	return tk.Refunds
}

func postPayment(t *testing.T, ev models.PaymentEvent) {
	t.Helper()
	if got := postWebhook(t, "/v1/webhooks/payment", ev); got != http.StatusAccepted {
		t.Fatalf("payment webhook %s %s: status %d", ev.RefundKey, ev.Status, got)
	}
}

// A payment event is believed only for a key the ledger holds, and it goes to the
// ticket the ledger names, whatever ticket_id the body claims.
func TestPaymentWebhookFollowsTheLedger(t *testing.T) {
	ev := models.PaymentEvent{EventID: fmt.Sprintf("unknown-%d", eventSeq.Add(1)), TicketID: "AS-none",
		RefundKey: "AS-none:refund:1", Status: models.RefundSucceeded}
	var e apiError
	raw, _ := json.Marshal(ev)
	if code := call(t, http.MethodPost, "/v1/webhooks/payment", "", raw, &e, webhookHeaders("/v1/webhooks/payment", ev.EventID, raw)...); code != http.StatusUnprocessableEntity ||
		!strings.Contains(e.Error.Message, "refund_key") {
		t.Errorf("unknown key: %d %+v", code, e)
	}
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.Kind, c.ReturnMethod, c.ReasonCode, c.PickupAddress = models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived, ""
		c.RequestedCents, c.BuyerCredit = 9000, 3
		c.Order = models.OrderInfo{PaidCents: 9000, PaidAt: time.Now().UTC()}
		c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 9000}}
	})
	key := waitRefunds(t, tk.ID, 1)[0].Key
	ev = h.payments.Settle(t, key, models.RefundSucceeded)
	ev.TicketID = "AS-someone-else"
	postPayment(t, ev)
	waitState(t, tk.ID, models.StateCompleted)
}
