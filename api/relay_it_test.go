package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
)

// An API process stopped between recording a payment webhook and signalling its
// ticket: the event is in the database, undelivered, and the provider got no
// answer. The relay (every API process runs it) delivers it from the body it
// keeps; a retry by the provider afterwards is a repeat.
func TestRelayDeliversAnEventRecordedAndNotSignalled(t *testing.T) {
	tk, k1, ev, raw := refundPaidAtTheProvider(t, "order-relay")
	sum := sha256.Sum256(raw)
	// What the webhook handler had done when its process stopped: the record alone.
	if _, err := h.db.ReceiveWebhookEvent(t.Context(), "payment", ev.EventID, hex.EncodeToString(sum[:]), raw); err != nil {
		t.Fatal(err)
	}
	if got := waitRefunds(t, tk.ID, 1)[0]; got.Status == models.RefundSucceeded {
		t.Fatalf("the ticket heard of an event nobody signalled: %+v", got)
	}

	n, err := api.New(h.cfg).RelayWebhooks(t.Context(), 0)
	if err != nil || n < 1 {
		t.Fatalf("relay: %d delivered, %v", n, err)
	}
	done := waitState(t, tk.ID, models.StateCompleted)
	if done.RefundedCents != 10000 || h.payments.Net(k1) != 10000 {
		t.Fatalf("refunded %d, the provider paid %d; want 10000", done.RefundedCents, h.payments.Net(k1))
	}
	var answer struct{ Duplicate bool }
	if code := call(t, http.MethodPost, "/v1/webhooks/payment", "", raw, &answer, webhookHeaders("/v1/webhooks/payment", ev.EventID, raw)...); code != http.StatusAccepted || !answer.Duplicate {
		t.Fatalf("the provider's retry after the relay: %d duplicate=%v, want 202 duplicate", code, answer.Duplicate)
	}
}

// A provider that hangs up as soon as its request is sent: the event was
// recorded, and its delivery does not depend on the caller staying connected.
func TestWebhookCallerHangsUp(t *testing.T) {
	tk, _, ev, raw := refundPaidAtTheProvider(t, "order-hangup")
	hd := webhookHeaders("/v1/webhooks/payment", ev.EventID, raw)
	var req strings.Builder
	u, _ := url.Parse(h.url)
	fmt.Fprintf(&req, "POST /v1/webhooks/payment HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", u.Host, len(raw))
	for i := 0; i+1 < len(hd); i += 2 {
		fmt.Fprintf(&req, "%s: %s\r\n", hd[i], hd[i+1])
	}
	req.WriteString("\r\n")
	req.Write(raw)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	conn.Close() // gone before any answer
	done := waitState(t, tk.ID, models.StateCompleted)
	if done.RefundedCents != 10000 {
		t.Fatalf("refunded %d after the caller hung up, want 10000", done.RefundedCents)
	}
}

// refundPaidAtTheProvider opens a refund of a new order paid 10 000 and has the
// provider pay its key; it returns the ticket, the key, and the payment event
// with its body, not yet posted.
func refundPaidAtTheProvider(t *testing.T, prefix string) (models.Ticket, string, models.PaymentEvent, []byte) {
	t.Helper()
	tk := newTicket(t, refundOnly(fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()), 10000, 10000))
	k1 := waitRefunds(t, tk.ID, 1)[0].Key
	ev := h.payments.Settle(t, k1, models.RefundSucceeded)
	raw, _ := json.Marshal(ev)
	return tk, k1, ev, raw
}
