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
	// A signed, complete event is recorded even if its caller hangs up now.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), signalTimeout)
	defer cancel()
	got, err := s.store.ReceiveWebhookEvent(ctx, provider, eventID, hex.EncodeToString(sum[:]), raw)
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
	return s.forward(c, providerCourier, ev.Type, ev.EventID, func(ctx context.Context) (*delivery, error) { return s.routeCourier(ctx, ev) })
}

// paymentWebhook forwards a payment result to the ticket whose key it is.
func (s *Server) paymentWebhook(c echo.Context) error {
	var ev models.PaymentEvent
	if done, err := s.receive(c, providerPayment, s.paymentKeys, &ev, func() string { return string(ev.Status) }); done {
		return err
	}
	return s.forward(c, providerPayment, string(ev.Status), ev.EventID, func(ctx context.Context) (*delivery, error) { return s.routePayment(ctx, ev) })
}

// forward routes a recorded event and delivers it, then answers 202. The event
// is in the database already, so the work goes on if the caller hangs up; what
// does not finish (this process stops, Temporal is down) the relay delivers
// later (RelayWebhooks).
func (s *Server) forward(c echo.Context, provider, typ, eventID string, route func(context.Context) (*delivery, error)) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), signalTimeout)
	defer cancel()
	d, err := route(ctx)
	if err == nil {
		err = s.deliver(ctx, provider, eventID, d)
	}
	if err := s.counted(provider, typ, err); err != nil {
		return err
	}
	return accepted(c, eventID, false)
}

// delivery is where a webhook event goes: a signal to a workflow. A nil
// delivery goes nowhere (logged), and the event is done.
type delivery struct {
	workflowID, signal string
	payload            any
}

// routeCourier: a courier event goes to the ticket it names, or, for a
// self-shipped parcel the carrier knows only by its tracking number, to the
// ticket that subscribed it.
func (s *Server) routeCourier(ctx context.Context, ev models.CourierEvent) (*delivery, error) {
	if ev.TicketID != "" {
		return &delivery{workflows.TicketWorkflowID(ev.TicketID), workflows.SignalCourier, ev}, nil
	}
	id, err := s.store.ParcelWorkflow(ctx, ev.Carrier, ev.TrackingNo)
	if models.ErrorCode(err) == models.ENOTFOUND {
		s.log.Warn("courier event for a parcel no ticket follows", "carrier", ev.Carrier, "tracking_no", ev.TrackingNo, "event", ev.EventID)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &delivery{id, workflows.SignalCourier, ev}, nil
}

// routePayment records the provider's answer in the ledger before the ticket
// hears of it, so the money is right even while the ticket's worker is down; the
// ledger, not the body, says whose key it is, and its word on how far the
// payment took the order over goes with the event (never the body's figure).
func (s *Server) routePayment(ctx context.Context, ev models.PaymentEvent) (*delivery, error) {
	row, err := s.store.MarkRefund(ctx, ev.RefundKey, ev.Status, ev.ProviderRef)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, models.Errorf(models.EINVALID, "refund_key %q is not a key this ledger issued", ev.RefundKey)
	} else if err != nil {
		return nil, err
	}
	ev.OrderOverCents = 0
	if row.Purpose == models.PurposeCompensate {
		// A delayed-shipment compensation: the ledger's ticket id is its watch's
		// workflow id; the watch waits for this answer.
		return &delivery{row.TicketID, workflows.SignalPayment, ev}, nil
	}
	ev.TicketID, ev.OrderOverCents = row.TicketID, row.OrderOverCents
	return &delivery{workflows.TicketWorkflowID(row.TicketID), workflows.SignalPayment, ev}, nil
}

// deliver signals d's workflow and marks the event delivered. A workflow that is
// gone (the ticket ended and its window closed) is only logged: the ledger has
// the answer. The signal does not depend on the caller staying connected.
func (s *Server) deliver(ctx context.Context, provider, eventID string, d *delivery) error {
	if d != nil {
		err := s.temporal.SignalWorkflow(ctx, d.workflowID, "", d.signal, d.payload)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			s.log.Warn("webhook for an unknown or ended workflow", "workflow", d.workflowID, "event", eventID)
		} else if err != nil {
			s.log.Error("webhook not delivered", "workflow", d.workflowID, "event", eventID, "error", err)
			return models.Errorf(models.EUNAVAILABLE, "the event could not be recorded now; send it again")
		}
	}
	// If the mark fails the event was still delivered: a repeat then reaches the
	// ticket, which drops it by its event id.
	if err := s.store.MarkWebhookDelivered(ctx, provider, eventID); err != nil {
		s.log.Warn("webhook delivered, not marked", "event", eventID, "error", err)
	}
	return nil
}

// signalTimeout bounds a webhook's signal once the caller is no longer waited on.
const signalTimeout = 10 * time.Second
