package api

import (
	"context"
	"time"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// The webhook relay (DESIGN §5, no lost decision): a webhook event is recorded
// with its verified body before anything else happens to it, so an event this
// or another API process recorded and did not deliver (it stopped between the
// record and the signal, or Temporal did not answer) is delivered later from the
// database. Every API process runs it; two that deliver one event at once are
// harmless, since the ticket drops a repeat by its event id.

// RelayGrace is how old an undelivered event must be before the relay takes it:
// longer than a webhook request that is still delivering it takes.
const RelayGrace = 30 * time.Second

// relayEvery is how often a serving API process looks for undelivered events.
const relayEvery = 15 * time.Second

// relayBatch bounds one pass; the next pass takes the rest.
const relayBatch = 100

// RelayWebhooks delivers the events recorded more than grace ago and not
// delivered, oldest first, and returns how many it delivered. An event whose
// routing fails for good (its key unknown to the ledger: the provider was
// answered 422) is marked done and logged; one that fails for now (Temporal or
// the database down) stays for the next pass.
func (s *Server) RelayWebhooks(ctx context.Context, grace time.Duration) (int, error) {
	pending, err := s.store.PendingWebhookEvents(ctx, s.now().Add(-grace), relayBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pending {
		sctx, cancel := context.WithTimeout(ctx, app.SignalTimeout)
		err := s.relay(sctx, p.Provider, p.EventID, p.Body)
		cancel()
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// relay delivers one recorded event as its webhook would have.
func (s *Server) relay(ctx context.Context, provider, eventID string, body []byte) error {
	var typ string
	var err error = models.Errorf(models.EINVALID, "unknown provider %q", provider)
	switch provider {
	case providerCourier:
		var ev models.CourierEvent
		if _, err = decodeJSON("webhook body", body, &ev); err == nil {
			typ, err = ev.Type, s.app.DeliverCourierEvent(ctx, ev)
		}
	case providerPayment:
		var ev models.PaymentEvent
		if _, err = decodeJSON("webhook body", body, &ev); err == nil {
			typ, err = string(ev.Status), s.app.DeliverPaymentEvent(ctx, ev)
		}
	}
	switch code := models.ErrorCode(domainError(err)); {
	case err == nil:
	case code == models.EINVALID || code == models.EMALFORMED || code == models.ENOTFOUND:
		s.log.Warn("recorded webhook event cannot be delivered; dropped", "provider", provider, "event", eventID, "error", err)
		return s.store.MarkWebhookDelivered(ctx, provider, eventID)
	default:
		return err
	}
	s.metrics.webhooks.WithLabelValues(provider, typ, "relayed").Inc()
	s.log.Info("webhook event relayed", "provider", provider, "event", eventID)
	return nil
}

// RunWebhookRelay runs RelayWebhooks every interval until ctx ends; a pass that
// fails is logged and the next one tries again.
func (s *Server) RunWebhookRelay(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.RelayWebhooks(ctx, RelayGrace); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook relay pass failed; trying again", "error", err)
		}
	}
}
