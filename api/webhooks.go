package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// The providers whose webhooks we take, each with its own whsec_ keys.
const (
	providerCourier = app.ProviderCourier
	providerPayment = app.ProviderPayment
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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), app.SignalTimeout)
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

// courierWebhook takes a courier event to its ticket (app.DeliverCourierEvent;
// accepted even when no worker runs: the workflow deduplicates by event_id too).
func (s *Server) courierWebhook(c echo.Context) error {
	var ev models.CourierEvent
	if done, err := s.receive(c, providerCourier, s.courierKeys, &ev, func() string { return ev.Type }); done {
		return err
	}
	return s.forward(c, providerCourier, ev.Type, ev.EventID, func(ctx context.Context) error { return s.app.DeliverCourierEvent(ctx, ev) })
}

// paymentWebhook takes a payment result to the ledger and to the ticket whose
// key it is (app.DeliverPaymentEvent).
func (s *Server) paymentWebhook(c echo.Context) error {
	var ev models.PaymentEvent
	if done, err := s.receive(c, providerPayment, s.paymentKeys, &ev, func() string { return string(ev.Status) }); done {
		return err
	}
	return s.forward(c, providerPayment, string(ev.Status), ev.EventID, func(ctx context.Context) error { return s.app.DeliverPaymentEvent(ctx, ev) })
}

// forward delivers a recorded event, then answers 202. The event is in the
// database already, so the work goes on if the caller hangs up; what does not
// finish (this process stops, Temporal is down) the relay delivers later
// (RelayWebhooks).
func (s *Server) forward(c echo.Context, provider, typ, eventID string, deliver func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), app.SignalTimeout)
	defer cancel()
	if err := s.counted(provider, typ, deliver(ctx)); err != nil {
		return err
	}
	return accepted(c, eventID, false)
}
