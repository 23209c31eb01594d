package models

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Courier event types, as couriers report them through the webhook.
const (
	CourierPickedUp             = "picked_up"
	CourierPickupFailed         = "pickup_failed"
	CourierDelivered            = "delivered"
	CourierSwapCompleted        = "swap_completed"
	CourierSwapFailed           = "swap_failed"
	CourierReplacementDelivered = "replacement_delivered"
)

// CourierEventTypes lists every courier event type.
var CourierEventTypes = []string{CourierPickedUp, CourierPickupFailed, CourierDelivered,
	CourierSwapCompleted, CourierSwapFailed, CourierReplacementDelivered}

// CourierEvent is the body of POST /v1/webhooks/courier.
type CourierEvent struct {
	EventID  string `json:"event_id"`
	TicketID string `json:"ticket_id,omitempty"`
	// Carrier and TrackingNo route a carrier's event about a parcel it never
	// booked for us (a self-shipped return whose tracking number the ticket
	// subscribed) when TicketID is empty.
	Carrier    string    `json:"carrier,omitempty"`
	Type       string    `json:"type"`
	TrackingNo string    `json:"tracking_no"`
	At         time.Time `json:"at"`
}

// ID is the event's id, the webhook-id it is signed under.
func (e CourierEvent) ID() string { return e.EventID }

// Validate names the first missing, unknown or oversized field.
func (e CourierEvent) Validate() error {
	switch {
	case CheckID("event_id", e.EventID) != nil:
		return CheckID("event_id", e.EventID)
	case e.TicketID == "" && (strings.TrimSpace(e.Carrier) == "" || strings.TrimSpace(e.TrackingNo) == ""):
		return Errorf(EINVALID, "ticket_id is required, or carrier and tracking_no for a parcel the ticket subscribed")
	case e.TicketID != "" && CheckID("ticket_id", e.TicketID) != nil:
		return CheckID("ticket_id", e.TicketID)
	case len(e.Carrier) > 64:
		return Errorf(EINVALID, "carrier is %d characters; the limit is 64", len(e.Carrier))
	case len(e.TrackingNo) > MaxTextChars:
		return Errorf(EINVALID, "tracking_no is %d characters; the limit is %d", len(e.TrackingNo), MaxTextChars)
	case !oneOf(e.Type, CourierEventTypes):
		return Errorf(EINVALID, "type %q is not one of %s", e.Type, joinAll(CourierEventTypes))
	}
	return nil
}

// PaymentEvent is the body of POST /v1/webhooks/payment.
type PaymentEvent struct {
	EventID     string      `json:"event_id"`
	TicketID    string      `json:"ticket_id"`
	RefundKey   string      `json:"refund_key"`
	Status      MoneyStatus `json:"status"` // succeeded | failed
	ProviderRef string      `json:"provider_ref"`
	Reason      string      `json:"reason"`
	// OrderOverCents is the refunds ledger's word, when it recorded this event,
	// that the key's payment took its order over what was paid
	// (models.OrderOverBy): set by the API from the ledger, never taken from the
	// provider's body.
	OrderOverCents int64 `json:"order_over_cents,omitempty"`
}

// ID is the event's id, the webhook-id it is signed under.
func (e PaymentEvent) ID() string { return e.EventID }

// Validate names the first missing, unknown or oversized field.
func (e PaymentEvent) Validate() error {
	switch {
	case CheckID("event_id", e.EventID) != nil:
		return CheckID("event_id", e.EventID)
	case e.TicketID != "" && CheckLedgerTicket("ticket_id", e.TicketID) != nil:
		// Optional: the ledger, not the body, says whose key it is.
		return CheckLedgerTicket("ticket_id", e.TicketID)
	case e.RefundKey == "" || len(e.RefundKey) > MaxMoneyKeyChars:
		return Errorf(EINVALID, "refund_key is required, at most %d characters", MaxMoneyKeyChars)
	case len(e.ProviderRef) > 255:
		return Errorf(EINVALID, "provider_ref is %d characters; the limit is 255", len(e.ProviderRef))
	case utf8.RuneCountInString(e.Reason) > MaxTextChars:
		return Errorf(EINVALID, "reason is longer than %d characters", MaxTextChars)
	case e.Status != RefundSucceeded && e.Status != RefundFailed:
		return Errorf(EINVALID, "status must be succeeded or failed")
	}
	return nil
}
