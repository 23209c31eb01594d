package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/aftersales/aftersales/models"
)

// Courier books the legs of a ticket's logistics. A real courier answers at once with
// a booking and reports what happened later through the courier webhook.
type Courier interface {
	BookPickup(ctx context.Context, req PickupRequest) (Booking, error)
	CancelPickup(ctx context.Context, ticketID, bookingID string) error
	BookSwapVisit(ctx context.Context, req PickupRequest) (Booking, error)
	ShipReplacement(ctx context.Context, req ShipmentRequest) (Booking, error)
	SendToRepair(ctx context.Context, req ShipmentRequest) (Booking, error)
	VerifyTracking(ctx context.Context, carrier, trackingNo string) (bool, error)
	// SubscribeTracking asks the carrier to report the parcel's events (delivered)
	// through the courier webhook, naming it by carrier and tracking number.
	SubscribeTracking(ctx context.Context, carrier, trackingNo string) error
}

// ParcelRegistry routes a carrier's events about a subscribed parcel to the
// workflow that subscribed it (store.DB).
type ParcelRegistry interface {
	SubscribeParcel(ctx context.Context, carrier, trackingNo, workflowID string) error
}

// PickupRequest books a courier visit at the buyer's address.
type PickupRequest struct {
	TicketID    string        `json:"ticket_id"`
	Address     string        `json:"address"`
	Attempt     int           `json:"attempt"`
	Items       []models.Item `json:"items"`
	ExchangeSKU string        `json:"exchange_sku,omitempty"`
}

// ShipmentRequest sends goods from the seller's side: a replacement or a repair order.
type ShipmentRequest struct {
	TicketID string        `json:"ticket_id"`
	SKU      string        `json:"sku,omitempty"`
	Address  string        `json:"address,omitempty"`
	Items    []models.Item `json:"items,omitempty"`
}

// Booking is the courier's answer: its reference and the tracking number.
type Booking struct {
	BookingID  string `json:"booking_id"`
	TrackingNo string `json:"tracking_no,omitempty"`
}

// BookPickup books a pickup visit (上门取件).
func (a *Activities) BookPickup(ctx context.Context, req PickupRequest) (Booking, error) {
	return finalOf(a.Courier.BookPickup(ctx, req))
}

// BookSwapVisit books one visit that delivers the replacement and collects the old item.
func (a *Activities) BookSwapVisit(ctx context.Context, req PickupRequest) (Booking, error) {
	return finalOf(a.Courier.BookSwapVisit(ctx, req))
}

// CancelPickup cancels a booked visit; cancelling an unknown booking is not an error.
func (a *Activities) CancelPickup(ctx context.Context, req Booking, ticketID string) error {
	return final(a.Courier.CancelPickup(ctx, ticketID, req.BookingID))
}

// ShipReplacement sends the exchange item to the buyer.
func (a *Activities) ShipReplacement(ctx context.Context, req ShipmentRequest) (Booking, error) {
	return finalOf(a.Courier.ShipReplacement(ctx, req))
}

// SendToRepair opens a repair order at the repair centre.
func (a *Activities) SendToRepair(ctx context.Context, req ShipmentRequest) (Booking, error) {
	return finalOf(a.Courier.SendToRepair(ctx, req))
}

// VerifyTracking asks the carrier whether the buyer's tracking number exists and,
// when it does, subscribes it: the parcel is recorded for the calling workflow
// first (so an event that comes at once finds its ticket), then the carrier is
// asked to report it. A parcel is followed only when Parcels is set.
func (a *Activities) VerifyTracking(ctx context.Context, carrier, trackingNo string) (bool, error) {
	ok, err := a.Courier.VerifyTracking(ctx, carrier, trackingNo)
	if err != nil || !ok || a.Parcels == nil || carrier == "" {
		return ok, final(err)
	}
	if err := a.Parcels.SubscribeParcel(ctx, carrier, trackingNo, activity.GetInfo(ctx).WorkflowExecution.ID); err != nil {
		return false, err
	}
	return true, final(a.Courier.SubscribeTracking(ctx, carrier, trackingNo))
}
