package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// A self-shipped return: the buyer's tracking number, once verified, is
// subscribed, and the carrier's delivered event, which names the parcel by
// carrier and tracking number only (the carrier never learned the ticket),
// reaches the ticket. An event about a parcel nobody follows is accepted and
// changes nothing.
func TestSelfShippedParcelRoutedByTrackingNumber(t *testing.T) {
	tk := newTicket(t, func(c *models.CreateTicket) { c.ReturnMethod, c.PickupAddress = models.ReturnSelfShip, "" })
	mustAct(t, "seller", tk.ID, "approve", map[string]any{})
	tracking := fmt.Sprintf("SF%d", time.Now().UnixNano())
	tk = mustAct(t, "buyer", tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": tracking})
	if tk.State != models.StateInTransit {
		t.Fatalf("after ship: %s", tk.State)
	}
	stray := models.CourierEvent{EventID: fmt.Sprintf("it-parcel-%d", eventSeq.Add(1)), Carrier: "SF", TrackingNo: "SF-nobody",
		Type: models.CourierDelivered, At: time.Now().UTC()}
	if got := postWebhook(t, "/v1/webhooks/courier", stray); got != http.StatusAccepted {
		t.Fatalf("event for a parcel nobody follows: %d", got)
	}
	ev := models.CourierEvent{EventID: fmt.Sprintf("it-parcel-%d", eventSeq.Add(1)), Carrier: "sf", TrackingNo: tracking,
		Type: models.CourierDelivered, At: time.Now().UTC()}
	if got := postWebhook(t, "/v1/webhooks/courier", ev); got != http.StatusAccepted {
		t.Fatalf("carrier's delivered event: %d", got)
	}
	waitState(t, tk.ID, models.StateAwaitingInspection)
	// Neither a ticket id nor a tracking number: refused, naming what is missing.
	bad := models.CourierEvent{EventID: fmt.Sprintf("it-parcel-%d", eventSeq.Add(1)), Type: models.CourierDelivered}
	if got := postWebhook(t, "/v1/webhooks/courier", bad); got != http.StatusUnprocessableEntity {
		t.Fatalf("an event naming nothing: %d", got)
	}
}
