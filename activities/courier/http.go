package courier

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/webhook"
)

// HTTP defaults.
const (
	DefaultTimeout = 10 * time.Second // per attempt
	DefaultRetries = 3                // retries after the first attempt
)

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
	status, body, err := h.call(ctx, http.MethodPost, path, cancelKey(ticketID, bookingID), map[string]string{"ticket_id": ticketID})
	switch {
	case err != nil:
		return err
	case status/100 == 2 || status == http.StatusNotFound:
		return nil
	}
	return &ProviderError{Method: http.MethodPost, Path: path, Status: status, Body: string(body)}
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
	status, body, err := h.call(ctx, http.MethodGet, path, "", nil)
	switch {
	case err != nil:
		return false, err
	case status/100 == 2:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	}
	return false, &ProviderError{Method: http.MethodGet, Path: path, Status: status, Body: string(body)}
}

func (h *HTTP) book(ctx context.Context, path, key string, req any) (activities.Booking, error) {
	status, body, err := h.call(ctx, http.MethodPost, path, key, req)
	if err != nil {
		return activities.Booking{}, err
	}
	if status/100 != 2 {
		return activities.Booking{}, &ProviderError{Method: http.MethodPost, Path: path, Status: status, Body: string(body)}
	}
	var b activities.Booking
	if err := decode(http.MethodPost, path, body, &b); err != nil {
		return activities.Booking{}, err
	}
	if b.BookingID == "" {
		return activities.Booking{}, fmt.Errorf("courier API POST %s: answer has no booking_id: %s", path, body)
	}
	return b, nil
}
