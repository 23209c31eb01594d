package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// The providers whose webhooks we take, each with its own whsec_ keys.
const (
	providerCourier = "courier"
	providerPayment = "payment"
)

// verifiedBody reads the raw body and checks it by the Standard Webhooks rules
// under the provider's keys (webhook.Keys.Verify): any failure is a 401.
func (s *Server) verifiedBody(c echo.Context, keys webhook.Keys) ([]byte, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	if keys.Empty() {
		return nil, models.Errorf(models.EUNAVAILABLE, "this endpoint has no webhook secret configured")
	}
	if err := keys.Verify(c.Request().Header, raw, s.now()); err != nil {
		return nil, models.Errorf(models.EUNAUTHORIZED, "%s", err)
	}
	return raw, nil
}

// webhookJSON decodes a verified body strictly (decodeJSON: field names match
// exactly), checks it, and checks that the signed webhook-id is the body's
// event_id (the id is what was signed).
func webhookJSON(c echo.Context, raw []byte, v webhookEvent) error {
	if _, err := decodeJSON("webhook body", raw, v); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	if id := c.Request().Header.Get(webhook.HeaderID); id != v.ID() {
		return models.Errorf(models.EINVALID, "webhook-id %q is not the body's event_id %q; send the event id as webhook-id", id, v.ID())
	}
	return nil
}

// firstDelivery records the event in the database before anything else happens to
// it; a repeat of an event already delivered is answered 202 and dropped. The same
// event id with another body is refused: a provider's retry repeats its body.
func (s *Server) firstDelivery(c echo.Context, provider, eventID string, raw []byte) (repeat bool, err error) {
	sum := sha256.Sum256(raw)
	got, err := s.store.ReceiveWebhookEvent(c.Request().Context(), provider, eventID, hex.EncodeToString(sum[:]))
	switch {
	case err != nil:
		return false, err
	case !got.SameBody:
		return false, models.Errorf(models.ECONFLICT, "event_id %q was already received with another body; give a new event a new id", eventID)
	}
	return got.Delivered, nil
}

// counted records a webhook event's outcome (delivered, or the error's code) in
// /metrics and passes err on. type is the courier event type or payment status,
// both from a closed list once the body is valid ("invalid" before).
func (s *Server) counted(provider, typ string, err error) error {
	outcome := "delivered"
	if err != nil {
		outcome = models.ErrorCode(domainError(err))
	}
	s.metrics.webhooks.WithLabelValues(provider, typ, outcome).Inc()
	return err
}

// accepted answers a webhook; a repeat says so.
func accepted(c echo.Context, eventID string, repeat bool) error {
	return c.JSON(http.StatusAccepted, map[string]any{"accepted": true, "event_id": eventID, "duplicate": repeat})
}

// webhookEvent is a webhook body: it checks itself and knows its event id.
type webhookEvent interface {
	Validate() error
	ID() string
}

// receive does what every webhook shares: it verifies the signature, decodes
// and checks ev, and records the event's first delivery. done says the answer
// is already given (a refusal, in err, or a repeat); typeOf names the event for
// the metrics once ev is decoded.
func (s *Server) receive(c echo.Context, provider string, keys webhook.Keys, ev webhookEvent, typeOf func() string) (done bool, err error) {
	raw, err := s.verifiedBody(c, keys)
	if err != nil {
		return true, err
	}
	if err := webhookJSON(c, raw, ev); err != nil {
		return true, s.counted(provider, "invalid", err)
	}
	repeat, err := s.firstDelivery(c, provider, ev.ID(), raw)
	switch {
	case err != nil:
		return true, s.counted(provider, typeOf(), err)
	case repeat:
		s.metrics.webhooks.WithLabelValues(provider, typeOf(), "duplicate").Inc()
		return true, accepted(c, ev.ID(), true)
	}
	return false, nil
}

// courierWebhook forwards a courier event to its ticket as a Signal (accepted even
// when no worker runs; the workflow deduplicates by event_id too).
func (s *Server) courierWebhook(c echo.Context) error {
	var ev models.CourierEvent
	if done, err := s.receive(c, providerCourier, s.courierKeys, &ev, func() string { return ev.Type }); done {
		return err
	}
	if ev.TicketID == "" {
		// A carrier's event about a parcel it never booked for us (a self-shipped
		// return): the ticket that subscribed its tracking number hears of it.
		id, err := s.store.ParcelWorkflow(c.Request().Context(), ev.Carrier, ev.TrackingNo)
		if models.ErrorCode(err) == models.ENOTFOUND {
			s.log.Warn("courier event for a parcel no ticket follows", "carrier", ev.Carrier, "tracking_no", ev.TrackingNo, "event", ev.EventID)
			return s.counted(providerCourier, ev.Type, s.delivered(c, providerCourier, ev.EventID))
		} else if err != nil {
			return s.counted(providerCourier, ev.Type, err)
		}
		return s.counted(providerCourier, ev.Type, s.signalWorkflow(c, providerCourier, id, workflows.SignalCourier, ev, ev.EventID))
	}
	return s.counted(providerCourier, ev.Type, s.signalTicket(c, providerCourier, ev.TicketID, workflows.SignalCourier, ev, ev.EventID))
}

// paymentWebhook forwards a payment result to the ticket whose key it is.
func (s *Server) paymentWebhook(c echo.Context) error {
	var ev models.PaymentEvent
	if done, err := s.receive(c, providerPayment, s.paymentKeys, &ev, func() string { return string(ev.Status) }); done {
		return err
	}
	// The ledger records the answer before the ticket hears of it, so the money
	// is right even while the ticket's worker is down; the ledger, not the body,
	// says whose key it is.
	row, err := s.store.MarkRefund(c.Request().Context(), ev.RefundKey, ev.Status, ev.ProviderRef)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return s.counted(providerPayment, string(ev.Status), models.Errorf(models.EINVALID, "refund_key %q is not a key this ledger issued", ev.RefundKey))
	} else if err != nil {
		return s.counted(providerPayment, string(ev.Status), err)
	}
	ev.OrderOverCents = 0 // the ledger's figure, below; never the provider's
	if row.Purpose == models.PurposeCompensate {
		// A delayed-shipment compensation: the ledger's ticket id is its watch's
		// workflow id; the watch waits for this answer (a watch that ended is
		// only logged, the ledger has the answer).
		return s.counted(providerPayment, string(ev.Status), s.signalWorkflow(c, providerPayment, row.TicketID, workflows.SignalPayment, ev, ev.EventID))
	}
	// The ledger's word on how far this payment took the order over goes with
	// the event; a body's own figure is never believed.
	ev.TicketID, ev.OrderOverCents = row.TicketID, row.OrderOverCents
	return s.counted(providerPayment, string(ev.Status), s.signalTicket(c, providerPayment, row.TicketID, workflows.SignalPayment, ev, ev.EventID))
}

// signalTicket answers 202 whether or not the ticket exists, so a webhook caller
// cannot probe for ticket ids; unknown ones are only logged.
func (s *Server) signalTicket(c echo.Context, provider, ticketID, signal string, payload any, eventID string) error {
	return s.signalWorkflow(c, provider, workflows.TicketWorkflowID(ticketID), signal, payload, eventID)
}

// signalWorkflow signals the workflow id and marks the event delivered. The
// signal does not depend on the caller staying connected: the event is recorded
// already, and a caller that hangs up must not leave it undelivered.
func (s *Server) signalWorkflow(c echo.Context, provider, workflowID, signal string, payload any, eventID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), signalTimeout)
	defer cancel()
	err := s.temporal.SignalWorkflow(ctx, workflowID, "", signal, payload)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		s.log.Warn("webhook for an unknown or ended workflow", "workflow", workflowID, "event", eventID)
	} else if err != nil {
		s.log.Error("webhook not delivered", "workflow", workflowID, "event", eventID, "error", err)
		return models.Errorf(models.EUNAVAILABLE, "the event could not be recorded now; send it again")
	}
	return s.delivered(c, provider, eventID)
}

// signalTimeout bounds a webhook's signal once the caller is no longer waited on.
const signalTimeout = 10 * time.Second

// delivered marks the event done, so a repeat is dropped, and answers 202. If the
// mark fails the event was still delivered: a repeat then reaches the ticket,
// which drops it by its event id.
func (s *Server) delivered(c echo.Context, provider, eventID string) error {
	if err := s.store.MarkWebhookDelivered(context.WithoutCancel(c.Request().Context()), provider, eventID); err != nil {
		s.log.Warn("webhook delivered, not marked", "event", eventID, "error", err)
	}
	return accepted(c, eventID, false)
}
