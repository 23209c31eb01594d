package models

import "time"

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
	EventID    string    `json:"event_id"`
	TicketID   string    `json:"ticket_id"`
	Type       string    `json:"type"`
	TrackingNo string    `json:"tracking_no"`
	At         time.Time `json:"at"`
}

// Validate names the first missing or unknown field.
// ID is the event's id, the webhook-id it is signed under.
func (e CourierEvent) ID() string { return e.EventID }

func (e CourierEvent) Validate() error {
	switch {
	case e.EventID == "":
		return Errorf(EINVALID, "event_id is required")
	case e.TicketID == "":
		return Errorf(EINVALID, "ticket_id is required")
	case !oneOf(e.Type, CourierEventTypes):
		return Errorf(EINVALID, "type %q is not one of %s", e.Type, joinAll(CourierEventTypes))
	}
	return nil
}

// PaymentEvent is the body of POST /v1/webhooks/payment.
type PaymentEvent struct {
	EventID     string `json:"event_id"`
	TicketID    string `json:"ticket_id"`
	RefundKey   string `json:"refund_key"`
	Status      string `json:"status"` // succeeded | failed
	ProviderRef string `json:"provider_ref"`
	Reason      string `json:"reason"`
}

// Validate names the first missing or unknown field.
// ID is the event's id, the webhook-id it is signed under.
func (e PaymentEvent) ID() string { return e.EventID }

func (e PaymentEvent) Validate() error {
	switch {
	case e.EventID == "":
		return Errorf(EINVALID, "event_id is required")
	case e.TicketID == "":
		return Errorf(EINVALID, "ticket_id is required")
	case e.RefundKey == "":
		return Errorf(EINVALID, "refund_key is required")
	case e.Status != RefundSucceeded && e.Status != RefundFailed:
		return Errorf(EINVALID, "status must be succeeded or failed")
	}
	return nil
}
