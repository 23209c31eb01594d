package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/workflows"
)

// webhookMaxAge is how old (or how far in the future) X-Timestamp may be.
const webhookMaxAge = 5 * time.Minute

// verifiedBody reads the raw body and checks its signature and timestamp.
func (s *Server) verifiedBody(c echo.Context) ([]byte, error) {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, domainError(err)
	}
	h := c.Request().Header
	sig, ts := h.Get("X-Signature"), h.Get("X-Timestamp")
	if sig == "" || ts == "" {
		return nil, models.Errorf(models.EUNAUTHORIZED, "webhooks need X-Signature: sha256=<hex HMAC-SHA256 of the body> and X-Timestamp")
	}
	at, err := parseTimestamp(ts)
	if err != nil {
		return nil, models.Errorf(models.EUNAUTHORIZED, "X-Timestamp must be unix seconds or RFC 3339")
	}
	if age := s.now().Sub(at); age > webhookMaxAge || age < -webhookMaxAge {
		return nil, models.Errorf(models.EUNAUTHORIZED, "X-Timestamp is more than 5 minutes away from now; send the webhook again with a fresh timestamp")
	}
	if !models.ValidWebhookSignature(s.secret, raw, sig) {
		return nil, models.Errorf(models.EUNAUTHORIZED, "X-Signature does not match the body; sign the raw body with the webhook secret")
	}
	return raw, nil
}

func parseTimestamp(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Parse(time.RFC3339, v)
}

// strictJSON decodes a verified body, naming unknown fields.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return models.Errorf(models.EINVALID, "webhook body is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	return nil
}

// courierWebhook forwards a courier event to its ticket as a Signal (accepted even
// when no worker runs; the workflow deduplicates by event_id).
func (s *Server) courierWebhook(c echo.Context) error {
	raw, err := s.verifiedBody(c)
	if err != nil {
		return err
	}
	var ev models.CourierEvent
	if err := strictJSON(raw, &ev); err != nil {
		return err
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	return s.signalTicket(c, ev.TicketID, workflows.SignalCourier, ev, ev.EventID)
}

// paymentWebhook forwards a refund result to its ticket.
func (s *Server) paymentWebhook(c echo.Context) error {
	raw, err := s.verifiedBody(c)
	if err != nil {
		return err
	}
	var ev models.PaymentEvent
	if err := strictJSON(raw, &ev); err != nil {
		return err
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	// The ledger records the answer before the ticket hears of it, so the money
	// is right even while the ticket's worker is down; the ledger, not the body,
	// says whose key it is.
	row, err := s.store.MarkRefund(c.Request().Context(), ev.RefundKey, ev.Status, ev.ProviderRef)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return models.Errorf(models.EINVALID, "refund_key %q is not a key this ledger issued", ev.RefundKey)
	} else if err != nil {
		return err
	}
	if row.Purpose == store.PurposeCompensation {
		// A delayed-shipment compensation: its watch reads the ledger, nothing to signal.
		return c.JSON(http.StatusAccepted, map[string]any{"accepted": true, "event_id": ev.EventID})
	}
	ev.TicketID = row.TicketID
	return s.signalTicket(c, row.TicketID, workflows.SignalPayment, ev, ev.EventID)
}

// signalTicket answers 202 whether or not the ticket exists, so a webhook caller
// cannot probe for ticket ids; unknown ones are only logged.
func (s *Server) signalTicket(c echo.Context, ticketID, signal string, payload any, eventID string) error {
	err := s.temporal.SignalWorkflow(c.Request().Context(), workflows.TicketWorkflowID(ticketID), "", signal, payload)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		s.log.Warn("webhook for an unknown or ended ticket", "ticket", ticketID, "event", eventID)
	} else if err != nil {
		s.log.Error("webhook not delivered", "ticket", ticketID, "event", eventID, "error", err)
		return models.Errorf(models.EUNAVAILABLE, "the event could not be recorded now; send it again")
	}
	return c.JSON(http.StatusAccepted, map[string]any{"accepted": true, "event_id": eventID})
}
