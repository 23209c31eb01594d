package courier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providersim"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// Simulator modes.
const (
	ModeAuto   = "auto"   // the simulator posts the courier webhooks itself after Delay
	ModeManual = "manual" // the simulator only books; the caller posts the webhooks
)

// DefaultDelay is the simulated courier's pace when Simulator.Delay is zero.
const DefaultDelay = 2 * time.Second

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("courier simulator: closed")

var _ activities.Courier = (*Simulator)(nil)

// Simulator is an in-process courier. It answers every booking at once with a booking
// id and a tracking number; in auto mode it then reports the visit through Sender,
// Delay apart per event:
//
//	BookPickup      → picked_up, then delivered
//	BookSwapVisit   → swap_completed
//	ShipReplacement → replacement_delivered
//	SendToRepair    → replacement_delivered (the repaired item back to the buyer)
//
// A repeated booking call with the same IdempotencyKey (ticket, kind, attempt) returns
// the first booking and schedules nothing new, as a real provider honouring
// Idempotency-Key would. CancelPickup stops the pending events of a booking.
// VerifyTracking knows every number except empty ones and those starting with "BAD".
// Event ids are "<booking id>:<type>". Configure the exported fields before the first
// call; Close stops every pending timer and waits for its goroutine. Pending and Wait
// tell what is still to be sent.
type Simulator struct {
	Sender *webhook.Sender  // where events go; nothing is sent when nil
	Mode   string           // ModeAuto (default when empty) or ModeManual
	Delay  time.Duration    // time between a booking and each of its events; DefaultDelay when zero
	Faults Faults           // injected misbehaviour, all off by default
	Log    *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil; stamps the events' "at"
	// LedgerFile, when set, keeps the bookings and the events each still has to
	// send across restarts (a provider of its own keeps its state): on the first
	// call the file is read and what was pending is sent again.
	LedgerFile string

	jobs providersim.Jobs // the goroutines sending pending events

	once  sync.Once
	mu    sync.Mutex
	byKey map[string]*booking
	byID  map[string]*booking
}

// BookingInfo describes one booking the simulator made.
type BookingInfo struct {
	BookingID  string `json:"booking_id"`
	TrackingNo string `json:"tracking_no"`
	TicketID   string `json:"ticket_id"`
	Carrier    string `json:"carrier,omitempty"` // a subscribed parcel's carrier
	Kind       string `json:"kind"`
	Attempt    int    `json:"attempt"`
	Cancelled  bool   `json:"cancelled"`
}

type booking struct {
	info    BookingInfo
	key     string               // the idempotency key it was booked under
	pending []string             // the events still to send, in order
	stamped map[string]time.Time // the at of each event built, by type (stamp)
	stop    func()               // stops its pending events and waits for their goroutine; nil when none are scheduled
}

func (s *Simulator) init() {
	s.once.Do(func() {
		s.byKey, s.byID = map[string]*booking{}, map[string]*booking{}
		s.load()
	})
}

// BookPickup books a pickup; picked_up and delivered follow.
func (s *Simulator) BookPickup(ctx context.Context, req activities.PickupRequest) (activities.Booking, error) {
	return s.book(ctx, req.TicketID, KindPickup, req.Attempt, "PU", "picked_up", "delivered")
}

// BookSwapVisit books a swap-on-delivery visit; swap_completed follows.
func (s *Simulator) BookSwapVisit(ctx context.Context, req activities.PickupRequest) (activities.Booking, error) {
	return s.book(ctx, req.TicketID, KindSwapVisit, req.Attempt, "SW", "swap_completed")
}

// ShipReplacement ships the exchange item; replacement_delivered follows.
func (s *Simulator) ShipReplacement(ctx context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	return s.book(ctx, req.TicketID, KindReplacement, 1, "RP", "replacement_delivered")
}

// SendToRepair opens a repair order; replacement_delivered follows when the repaired
// item is back with the buyer.
func (s *Simulator) SendToRepair(ctx context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	return s.book(ctx, req.TicketID, KindRepair, 1, "RE", "replacement_delivered")
}

// CancelPickup stops the pending events of the booking: once it returns, none of them
// is sent. An unknown booking, or one of another ticket, is not an error.
func (s *Simulator) CancelPickup(ctx context.Context, ticketID, bookingID string) error {
	if err := s.Faults.before(ctx, ticketID); err != nil {
		return err
	}
	s.init()
	s.mu.Lock()
	if s.jobs.Closed() {
		s.mu.Unlock()
		return ErrClosed
	}
	var stop func()
	if b := s.byID[bookingID]; b != nil && b.info.TicketID == ticketID && !b.info.Cancelled {
		b.info.Cancelled, b.pending = true, nil
		stop = b.stop
		s.save()
	}
	s.mu.Unlock()
	if stop != nil {
		stop() // outside s.mu: it waits for the booking's goroutine
	}
	if s.Faults.roll(s.Faults.LoseAnswerRate) {
		return ErrAnswerLost
	}
	return nil
}

// SubscribeTracking follows a parcel the simulator never booked (a self-shipped
// return): in auto mode it reports it delivered after Delay, by carrier and
// tracking number, without a ticket id. A repeat schedules nothing new.
func (s *Simulator) SubscribeTracking(ctx context.Context, carrier, trackingNo string) error {
	if err := s.Faults.before(ctx, trackingNo); err != nil {
		return err
	}
	s.init()
	key := "tracking:" + carrier + ":" + trackingNo
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs.Closed() {
		return ErrClosed
	}
	if s.byKey[key] == nil {
		b := &booking{key: key, info: BookingInfo{BookingID: "TRK-" + providersim.RandomHex(6), TrackingNo: trackingNo,
			Carrier: carrier, Kind: "tracking"}}
		s.byKey[key], s.byID[b.info.BookingID] = b, b
		s.schedule(b, []string{models.CourierDelivered})
		s.save()
	}
	return nil
}

// VerifyTracking answers true unless trackingNo is empty or starts with "BAD".
func (s *Simulator) VerifyTracking(ctx context.Context, carrier, trackingNo string) (bool, error) {
	if err := s.Faults.before(ctx, trackingNo); err != nil {
		return false, err
	}
	return trackingNo != "" && !strings.HasPrefix(trackingNo, "BAD"), nil
}

// Bookings lists the bookings of a ticket (all bookings when ticketID is empty),
// sorted by booking id.
func (s *Simulator) Bookings(ticketID string) []BookingInfo {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BookingInfo
	for _, b := range s.byID {
		if ticketID == "" || b.info.TicketID == ticketID {
			out = append(out, b.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BookingID < out[j].BookingID })
	return out
}

// Pending is how many bookings still have events to send: scheduled, and neither all
// sent nor cancelled (nor stopped by Close).
func (s *Simulator) Pending() int { return s.jobs.Running() }

// Wait blocks until every event scheduled so far has been sent, or its booking
// cancelled or the simulator closed. With the default Delay that takes seconds; tests
// use it to know that no further webhook is coming.
func (s *Simulator) Wait() { s.jobs.Wait() }

// Close stops all pending events and waits until their goroutines have returned.
// Later calls fail with ErrClosed. Close is idempotent.
func (s *Simulator) Close() error {
	s.jobs.Close()
	return nil
}

// book makes (or finds, by idempotency key) a booking and schedules its events.
func (s *Simulator) book(ctx context.Context, ticketID, kind string, attempt int, prefix string, events ...string) (activities.Booking, error) {
	if ticketID == "" {
		return activities.Booking{}, fmt.Errorf("courier simulator: ticket_id is required")
	}
	if err := s.Faults.before(ctx, ticketID); err != nil {
		return activities.Booking{}, err
	}
	s.init()
	key := IdempotencyKey(ticketID, kind, attempt)
	s.mu.Lock()
	if s.jobs.Closed() {
		s.mu.Unlock()
		return activities.Booking{}, ErrClosed
	}
	b := s.byKey[key]
	if b == nil {
		b = &booking{key: key, info: BookingInfo{BookingID: prefix + "-" + providersim.RandomHex(6),
			TrackingNo: "SIM" + providersim.RandomDigits(12), TicketID: ticketID, Kind: kind, Attempt: attempt}}
		s.byKey[key], s.byID[b.info.BookingID] = b, b
		s.schedule(b, events)
		s.save()
	}
	answer := activities.Booking{BookingID: b.info.BookingID, TrackingNo: b.info.TrackingNo}
	s.mu.Unlock()
	if s.Faults.roll(s.Faults.LoseAnswerRate) {
		return activities.Booking{}, ErrAnswerLost
	}
	return answer, nil
}
