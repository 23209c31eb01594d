package app

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// The providers whose webhook events the product takes, as the events are
// recorded (store.DB.ReceiveWebhookEvent).
const (
	ProviderCourier = "courier"
	ProviderPayment = "payment"
)

// SignalTimeout bounds the delivery of one webhook event once its caller is no
// longer waited on.
const SignalTimeout = 10 * time.Second

// DeliverCourierEvent takes a courier event already verified and recorded to
// its ticket, or, for a self-shipped parcel the carrier knows only by its
// tracking number, to the ticket that subscribed it; then marks it delivered.
// An event for a parcel no ticket follows is logged and done.
func (a *App) DeliverCourierEvent(ctx context.Context, ev models.CourierEvent) error {
	id := workflows.TicketWorkflowID(ev.TicketID)
	if ev.TicketID == "" {
		var err error
		id, err = a.store.ParcelWorkflow(ctx, ev.Carrier, ev.TrackingNo)
		if models.ErrorCode(err) == models.ENOTFOUND {
			a.log.Warn("courier event for a parcel no ticket follows", "carrier", ev.Carrier, "tracking_no", ev.TrackingNo, "event", ev.EventID)
			return a.markDelivered(ctx, ProviderCourier, ev.EventID)
		} else if err != nil {
			return err
		}
	}
	return a.deliver(ctx, ProviderCourier, ev.EventID, id, workflows.SignalCourier, ev)
}

// DeliverPaymentEvent records a payment provider's answer, already verified
// and recorded as an event, in the ledger before the ticket hears of it, so
// the money is right even while the ticket's worker is down; then tells the
// workflow whose key it is (a ticket, or a shipping watch for a compensation)
// and marks it delivered. The ledger, not the body, says whose key it is, and
// its word on how far the payment took the order over goes with the event
// (never the body's figure). A key the ledger never issued is EINVALID.
func (a *App) DeliverPaymentEvent(ctx context.Context, ev models.PaymentEvent) error {
	row, err := a.store.MarkRefund(ctx, ev.RefundKey, ev.Status, ev.ProviderRef)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return models.Errorf(models.EINVALID, "refund_key %q is not a key this ledger issued", ev.RefundKey)
	} else if err != nil {
		return err
	}
	ev.OrderOverCents = 0
	if row.Purpose == models.PurposeCompensate {
		// A delayed-shipment compensation: the ledger's ticket id is its watch's
		// workflow id; the watch waits for this answer.
		return a.deliver(ctx, ProviderPayment, ev.EventID, row.TicketID, workflows.SignalPayment, ev)
	}
	ev.TicketID, ev.OrderOverCents = row.TicketID, row.OrderOverCents
	return a.deliver(ctx, ProviderPayment, ev.EventID, workflows.TicketWorkflowID(row.TicketID), workflows.SignalPayment, ev)
}

// deliver signals the workflow and marks the event delivered. A workflow that
// is gone (the ticket ended and its window closed) is only logged: the ledger
// has the answer. The signal does not depend on the caller staying connected.
func (a *App) deliver(ctx context.Context, provider, eventID, workflowID, signal string, payload any) error {
	err := a.temporal.SignalWorkflow(ctx, workflowID, "", signal, payload)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		a.log.Warn("webhook for an unknown or ended workflow", "workflow", workflowID, "event", eventID)
	} else if err != nil {
		a.log.Error("webhook not delivered", "workflow", workflowID, "event", eventID, "error", err)
		return models.Errorf(models.EUNAVAILABLE, "the event could not be recorded now; send it again")
	}
	return a.markDelivered(ctx, provider, eventID)
}

// markDelivered marks an event delivered. If the mark fails the event was
// still delivered: a repeat then reaches the ticket, which drops it by its
// event id.
func (a *App) markDelivered(ctx context.Context, provider, eventID string) error {
	if err := a.store.MarkWebhookDelivered(ctx, provider, eventID); err != nil {
		a.log.Warn("webhook delivered, not marked", "event", eventID, "error", err)
	}
	return nil
}
