package courier

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/webhook"
)

// HTTP defaults.
const (
	DefaultTimeout = providerapi.DefaultTimeout // per attempt
	DefaultRetries = providerapi.DefaultRetries // retries after the first attempt
)

// ProviderError is a final answer (4xx other than 408/429) from the courier's API,
// or a 5xx that outlasted the retries. Its API field is "courier".
type ProviderError = providerapi.Error

var _ activities.Courier = (*HTTP)(nil)

// HTTP is activities.Courier against a courier provider's JSON API (the protocol is in
// the package comment). It is safe for concurrent use; set the fields before use.
type HTTP struct {
	BaseURL string          // e.g. https://courier.example.com/v1
	APIKey  string          // sent as Authorization: Bearer <APIKey>
	Timeout time.Duration   // per attempt; DefaultTimeout when zero
	Retries int             // retries after the first attempt; DefaultRetries when zero, none when negative
	Backoff webhook.Backoff // waits between attempts; 200ms doubling to 5s when zero
	Client  *http.Client    // http.DefaultClient when nil
}

// BookPickup posts the pickup to /pickups under key "<ticket>:pickup:<attempt>".
func (h *HTTP) BookPickup(ctx context.Context, req activities.PickupRequest) (activities.Booking, error) {
	return h.book(ctx, "/pickups", IdempotencyKey(req.TicketID, KindPickup, req.Attempt), req)
}

// BookSwapVisit posts the visit to /swap-visits under key "<ticket>:swap_visit:<attempt>".
func (h *HTTP) BookSwapVisit(ctx context.Context, req activities.PickupRequest) (activities.Booking, error) {
	return h.book(ctx, "/swap-visits", IdempotencyKey(req.TicketID, KindSwapVisit, req.Attempt), req)
}

// ShipReplacement posts the shipment to /shipments under key "<ticket>:replacement:1".
func (h *HTTP) ShipReplacement(ctx context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	return h.book(ctx, "/shipments", IdempotencyKey(req.TicketID, KindReplacement, 1), req)
}

// SendToRepair posts the repair order to /repairs under key "<ticket>:repair:1".
func (h *HTTP) SendToRepair(ctx context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	return h.book(ctx, "/repairs", IdempotencyKey(req.TicketID, KindRepair, 1), req)
}

// CancelPickup posts /pickups/{id}/cancel; a 404 (unknown booking) is not an error.
func (h *HTTP) CancelPickup(ctx context.Context, ticketID, bookingID string) error {
	path := "/pickups/" + url.PathEscape(bookingID) + "/cancel"
	err := h.api().Do(ctx, http.MethodPost, path, cancelKey(ticketID, bookingID), map[string]string{"ticket_id": ticketID}, nil)
	if providerapi.Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// VerifyTracking asks GET /tracking/{carrier}/{no}: 2xx is true, 404 is false. An
// empty number is false without a call; an empty carrier is sent as "auto".
func (h *HTTP) VerifyTracking(ctx context.Context, carrier, trackingNo string) (bool, error) {
	if trackingNo == "" {
		return false, nil
	}
	if carrier == "" {
		carrier = "auto"
	}
	path := "/tracking/" + url.PathEscape(carrier) + "/" + url.PathEscape(trackingNo)
	err := h.api().Do(ctx, http.MethodGet, path, "", nil, nil)
	if providerapi.Status(err) == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// SubscribeTracking asks POST /tracking-subscriptions {carrier, tracking_no} to
// report the parcel's events through the webhook; a repeat is harmless.
func (h *HTTP) SubscribeTracking(ctx context.Context, carrier, trackingNo string) error {
	return h.api().Do(ctx, http.MethodPost, "/tracking-subscriptions", "subscribe:"+carrier+":"+trackingNo,
		map[string]string{"carrier": carrier, "tracking_no": trackingNo}, nil)
}

func (h *HTTP) book(ctx context.Context, path, key string, req any) (activities.Booking, error) {
	var b booked
	if err := h.api().Do(ctx, http.MethodPost, path, key, req, &b); err != nil {
		return activities.Booking{}, err
	}
	if b.BookingID == "" {
		return activities.Booking{}, fmt.Errorf("courier API POST %s: answer has no booking_id: %s", path, b.raw)
	}
	return b.Booking, nil
}

// booked is the answer to a booking call; raw keeps it for the error messages.
type booked struct {
	activities.Booking
	raw []byte
}

func (b *booked) UnmarshalJSON(raw []byte) error {
	b.raw = append([]byte(nil), raw...)
	return json.Unmarshal(raw, &b.Booking)
}

// api is the shared JSON client with h's settings.
func (h *HTTP) api() *providerapi.Client {
	return &providerapi.Client{Name: "courier", BaseURL: h.BaseURL, APIKey: h.APIKey,
		Timeout: h.Timeout, Retries: h.Retries, Backoff: h.Backoff, HTTPClient: h.Client}
}
