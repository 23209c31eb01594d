package courier

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// step is one webhook of a booking's plan; copies > 1 repeats it with the same body.
type step struct {
	typ    string
	copies int
}

// schedule plans b's events and starts the goroutine that sends them. Fault draws are
// made here, in the caller's goroutine. It is called with s.mu held.
func (s *Simulator) schedule(b *booking, events []string) {
	if s.Mode == ModeManual || s.Sender == nil || len(events) == 0 {
		return
	}
	b.pending = append([]string(nil), events...)
	plan := make([]step, len(events))
	for i, typ := range events {
		plan[i] = step{typ: typ, copies: 1}
		if s.Faults.roll(s.Faults.DuplicateRate) {
			plan[i].copies = 2
		}
	}
	if s.Faults.Reorder && len(plan) == 2 && plan[0].typ == models.CourierPickedUp && plan[1].typ == models.CourierDelivered {
		plan[0], plan[1] = plan[1], plan[0]
	}
	info := b.info // copied under s.mu: b.info changes later (Cancelled)
	b.stop = s.jobs.Go(func(ctx context.Context) { s.run(ctx, info, plan) })
}

// sent records that the booking's event typ went out: it is no longer pending.
func (s *Simulator) sent(bookingID, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.byID[bookingID]; b != nil {
		if i := slices.Index(b.pending, typ); i >= 0 {
			b.pending = slices.Delete(b.pending, i, i+1)
			s.save()
		}
	}
}

// stamp is the at of the booking's event typ: the time it was first built,
// kept in the ledger, so the event sent again (a retry after a restart) has the
// same body and the API takes it as the repeat it is.
func (s *Simulator) stamp(bookingID, typ string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.byID[bookingID]
	if b == nil {
		return s.now().UTC()
	}
	if at, ok := b.stamped[typ]; ok {
		return at
	}
	if b.stamped == nil {
		b.stamped = map[string]time.Time{}
	}
	at := s.now().UTC()
	b.stamped[typ] = at
	s.save()
	return at
}

// run sends the plan, one step per Delay, until done or ctx ends (cancellation or Close).
func (s *Simulator) run(ctx context.Context, info BookingInfo, plan []step) {
	delay := s.Delay
	if delay <= 0 {
		delay = DefaultDelay
	}
	for _, st := range plan {
		if webhook.Sleep(ctx, delay) != nil {
			return
		}
		ev := models.CourierEvent{EventID: info.BookingID + ":" + st.typ, TicketID: info.TicketID,
			Carrier: info.Carrier, Type: st.typ, TrackingNo: info.TrackingNo, At: s.stamp(info.BookingID, st.typ)}
		for range st.copies {
			if err := s.Sender.Send(ctx, WebhookPath, ev.EventID, ev); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.logger().Error("courier simulator: webhook not delivered", "ticket", info.TicketID,
					"booking", info.BookingID, "event", ev.EventID, "error", err)
			}
		}
		s.sent(info.BookingID, st.typ)
	}
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Simulator) logger() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }
