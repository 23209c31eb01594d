// Package courier holds two implementations of activities.Courier: Simulator, an
// in-process courier that calls our courier webhook by itself (for `aftersales dev`,
// demos and tests), and HTTP, a client for a courier provider's JSON API.
//
// # Provider protocol (HTTP)
//
// Every request carries `Authorization: Bearer <APIKey>` and, when it has a body,
// `Content-Type: application/json`. Every mutating request carries
// `Idempotency-Key: <key>` (see IdempotencyKey): the provider books a key once and
// answers a repeated key with the first booking, so a retried call books once.
//
//	POST {base}/pickups               body PickupRequest   → 200/201 {"booking_id","tracking_no"}
//	POST {base}/pickups/{id}/cancel   body {"ticket_id"}   → 2xx; 404 (unknown booking) is not an error
//	POST {base}/swap-visits           body PickupRequest   → 200/201 {"booking_id","tracking_no"}
//	POST {base}/shipments             body ShipmentRequest → 200/201 {"booking_id","tracking_no"}
//	POST {base}/repairs               body ShipmentRequest → 200/201 {"booking_id","tracking_no"}
//	GET  {base}/tracking/{carrier}/{tracking_no}            → 200 known, 404 unknown
//	POST {base}/tracking-subscriptions body {"carrier","tracking_no"} → 2xx (a repeat is harmless)
//
// PickupRequest and ShipmentRequest are the JSON forms of activities.PickupRequest
// and activities.ShipmentRequest: {"ticket_id","address","attempt","items":[{"sku",
// "qty","unit_paid_cents"}],"exchange_sku"} and {"ticket_id","sku","address","items"}.
// An empty carrier is sent as "auto" (the provider detects it).
//
// Errors: 5xx, 408, 429, network errors and per-attempt timeouts are retried with
// exponential backoff (HTTP.Retries times); any other 4xx is final and returned as a
// *ProviderError naming the status and the provider's answer.
//
// # Webhooks
//
// Later events reach us as POST /v1/webhooks/courier with a models.CourierEvent body
// {event_id, ticket_id, type, tracking_no, at}, signed as package webhook describes.
// An event about a subscribed parcel (a self-shipped return the carrier never
// booked for us) leaves ticket_id out and names the parcel by carrier and
// tracking_no: {event_id, carrier, tracking_no, type, at}.
// The simulator's event ids are "<booking id>:<type>", stable per booking and type, so
// a duplicate delivery is recognisable.
package courier

import "fmt"

// Booking kinds: the legs a courier books, as they appear in idempotency keys.
const (
	KindPickup      = "pickup"
	KindSwapVisit   = "swap_visit"
	KindReplacement = "replacement"
	KindRepair      = "repair"
	KindCancel      = "cancel"
)

// WebhookPath is where couriers post their events on our API.
const WebhookPath = "/v1/webhooks/courier"

// IdempotencyKey names one booking call: "<ticket id>:<kind>:<attempt>". Shipments and
// repairs have one attempt per ticket (attempt 1). A cancellation's key is
// "<ticket id>:cancel:<booking id>".
func IdempotencyKey(ticketID, kind string, attempt int) string {
	return fmt.Sprintf("%s:%s:%d", ticketID, kind, attempt)
}

func cancelKey(ticketID, bookingID string) string {
	return ticketID + ":" + KindCancel + ":" + bookingID
}
