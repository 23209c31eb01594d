package payment

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	"github.com/aftersales/aftersales/models"
)

// failReason is what the simulated provider says when the FailRate fault fires.
const failReason = "simulated: the payment channel declined the transfer"

// schedule starts the settlement of a new record in auto mode. Fault draws are made
// here, in the caller's goroutine. It is called with s.mu held.
func (s *Simulator) schedule(r *Record) {
	if s.Mode == ModeManual {
		return
	}
	status, reason := models.RefundSucceeded, ""
	if s.Faults.roll(s.Faults.FailRate) {
		status, reason = models.RefundFailed, failReason
	}
	copies := 1
	if s.Faults.roll(s.Faults.DuplicateRate) {
		copies = 2
	}
	delay := s.Delay
	if delay <= 0 {
		delay = DefaultDelay
	}
	key := r.Key
	s.jobs.After(delay, func(ctx context.Context) { s.settle(ctx, key, status, reason, copies) })
}

// settle settles the record and posts the result copies times, until ctx ends.
func (s *Simulator) settle(ctx context.Context, key string, status models.MoneyStatus, reason string, copies int) {
	ev, err := s.Settle(key, status, reason)
	if err != nil || s.Sender == nil {
		return
	}
	for range copies {
		if err := s.Sender.Send(ctx, WebhookPath, ev.EventID, ev); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger().Error("payment simulator: webhook not delivered", "ticket", ev.TicketID,
				"key", key, "event", ev.EventID, "error", err)
		}
	}
}

// Settle marks a sent payment succeeded or failed and returns the webhook event that
// reports it (event id "<provider_ref>:<status>"); it sends nothing. Auto mode calls
// it after Delay; in manual mode the caller uses it and posts the event. Settling a
// record already settled returns its event unchanged.
func (s *Simulator) Settle(key string, status models.MoneyStatus, reason string) (models.PaymentEvent, error) {
	if status != models.RefundSucceeded && status != models.RefundFailed {
		return models.PaymentEvent{}, fmt.Errorf("payment simulator: status must be succeeded or failed, not %q", status)
	}
	return s.decide(key, status, reason, false)
}

// decide records status for key: only over "sent", unless again (the provider
// contradicting itself). The event's id names the status, and again.
func (s *Simulator) decide(key string, status models.MoneyStatus, reason string, again bool) (models.PaymentEvent, error) {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[key]
	if r == nil {
		return models.PaymentEvent{}, fmt.Errorf("payment simulator: no payment with key %s", key)
	}
	id := r.ProviderRef + ":" + string(status)
	if again {
		id += ":again"
	}
	if r.Status == models.RefundSent || again {
		r.Status, r.Reason = status, reason
		s.save()
	} else {
		id = r.ProviderRef + ":" + string(r.Status)
	}
	return models.PaymentEvent{EventID: id, TicketID: r.TicketID, RefundKey: r.Key,
		Status: r.Status, ProviderRef: r.ProviderRef, Reason: r.Reason}, nil
}

func (s *Simulator) logger() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// SettleAgain makes the provider contradict itself, as real ones do: a payment
// it reported failed (or that a lookup confirmed failed) pays after all, or one
// it reported succeeded is reversed. The new status replaces the old one in its
// ledger, and the answer is the webhook event that reports it (its own event id).
func (s *Simulator) SettleAgain(key string, status models.MoneyStatus, reason string) (models.PaymentEvent, error) {
	if status != models.RefundSucceeded && status != models.RefundFailed {
		return models.PaymentEvent{}, fmt.Errorf("payment simulator: status must be succeeded or failed, not %q", status)
	}
	return s.decide(key, status, reason, true)
}
