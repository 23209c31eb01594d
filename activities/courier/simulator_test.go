package courier_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/webhook/webhooktest"
	"github.com/aftersales/aftersales/models"
)

func newReceiver(t *testing.T) *webhooktest.Receiver[models.CourierEvent] {
	return webhooktest.New[models.CourierEvent](t, courier.WebhookPath)
}

func newSim(t *testing.T, r *webhooktest.Receiver[models.CourierEvent], delay time.Duration) *courier.Simulator {
	t.Helper()
	s := &courier.Simulator{Sender: r.Sender(), Delay: delay}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func pickup(ticket string, attempt int) activities.PickupRequest {
	return activities.PickupRequest{TicketID: ticket, Address: "1 Road", Attempt: attempt,
		Items: []models.Item{{SKU: "A", Qty: 1, UnitPaidCents: 100}}}
}

func TestPickupSendsPickedUpThenDelivered(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	b, err := s.BookPickup(context.Background(), pickup("T1", 1))
	if err != nil || b.BookingID == "" || b.TrackingNo == "" {
		t.Fatalf("booking %+v, %v", b, err)
	}
	first, second := r.Next(t), r.Next(t)
	if first.Type != models.CourierPickedUp || second.Type != models.CourierDelivered {
		t.Fatalf("events %s, %s", first.Type, second.Type)
	}
	for _, ev := range []models.CourierEvent{first, second} {
		if ev.TicketID != "T1" || ev.TrackingNo != b.TrackingNo || ev.EventID != b.BookingID+":"+ev.Type || ev.At.IsZero() {
			t.Fatalf("event %+v for booking %+v", ev, b)
		}
	}
	s.Wait()
	r.None(t)
}

func TestOtherLegs(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	ctx := context.Background()
	cases := []struct {
		book func() (activities.Booking, error)
		want string
	}{
		{func() (activities.Booking, error) { return s.BookSwapVisit(ctx, pickup("T2", 1)) }, models.CourierSwapCompleted},
		{func() (activities.Booking, error) {
			return s.ShipReplacement(ctx, activities.ShipmentRequest{TicketID: "T3", SKU: "B"})
		}, models.CourierReplacementDelivered},
		{func() (activities.Booking, error) {
			return s.SendToRepair(ctx, activities.ShipmentRequest{TicketID: "T4"})
		}, models.CourierReplacementDelivered},
	}
	for _, c := range cases {
		b, err := c.book()
		if err != nil {
			t.Fatal(err)
		}
		if ev := r.Next(t); ev.Type != c.want || ev.EventID != b.BookingID+":"+c.want {
			t.Fatalf("event %+v, want %s of %s", ev, c.want, b.BookingID)
		}
	}
	s.Wait()
	r.None(t)
}

// The events are an hour away, so the cancellation surely comes first: afterwards
// nothing of the booking is pending and nothing was sent.
func TestCancelPickupStopsEvents(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, time.Hour)
	ctx := context.Background()
	b, err := s.BookPickup(ctx, pickup("T1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Pending(); n != 1 {
		t.Fatalf("%d bookings pending, want 1", n)
	}
	if err := s.CancelPickup(ctx, "T1", b.BookingID); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelPickup(ctx, "T1", "unknown"); err != nil {
		t.Fatalf("unknown booking: %v", err)
	}
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d bookings pending after CancelPickup, want 0", n)
	}
	r.None(t)
	if got := s.Bookings("T1"); len(got) != 1 || !got[0].Cancelled {
		t.Fatalf("bookings %+v", got)
	}
}

func TestManualModeSendsNothing(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	s.Mode = courier.ModeManual
	if b, err := s.BookPickup(context.Background(), pickup("T1", 1)); err != nil || b.BookingID == "" {
		t.Fatalf("%+v %v", b, err)
	}
	s.Wait()
	r.None(t)
}

func TestLostAnswerStillBooksAndRetryGetsSameBooking(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	s.Faults.LoseAnswerRate = 1
	if _, err := s.BookPickup(context.Background(), pickup("T1", 1)); !errors.Is(err, courier.ErrAnswerLost) {
		t.Fatalf("err = %v", err)
	}
	first, second := r.Next(t), r.Next(t)
	if first.Type != models.CourierPickedUp || second.Type != models.CourierDelivered {
		t.Fatalf("events %s, %s", first.Type, second.Type)
	}
	s.Faults.LoseAnswerRate = 0
	b, err := s.BookPickup(context.Background(), pickup("T1", 1)) // the activity's retry
	if err != nil || first.EventID != b.BookingID+":picked_up" {
		t.Fatalf("retry got %+v, %v; first event %s", b, err, first.EventID)
	}
	s.Wait()
	r.None(t) // booked once: nothing new scheduled
}

func TestDuplicateSendsSameEventTwice(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	s.Faults.DuplicateRate = 1
	if _, err := s.BookPickup(context.Background(), pickup("T1", 1)); err != nil {
		t.Fatal(err)
	}
	evs := []models.CourierEvent{r.Next(t), r.Next(t), r.Next(t), r.Next(t)}
	if evs[0] != evs[1] || evs[2] != evs[3] || evs[0].EventID == evs[2].EventID {
		t.Fatalf("events %+v", evs)
	}
	if evs[0].Type != models.CourierPickedUp || evs[2].Type != models.CourierDelivered {
		t.Fatalf("events %+v", evs)
	}
}

func TestReorderSendsDeliveredFirst(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	s.Faults.Reorder = true
	if _, err := s.BookPickup(context.Background(), pickup("T1", 1)); err != nil {
		t.Fatal(err)
	}
	if a, b := r.Next(t), r.Next(t); a.Type != models.CourierDelivered || b.Type != models.CourierPickedUp {
		t.Fatalf("events %s, %s", a.Type, b.Type)
	}
}

func TestErrorRateActsNot(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	s.Faults.ErrorRate = 1
	if _, err := s.BookPickup(context.Background(), pickup("T1", 1)); !errors.Is(err, courier.ErrInjected) {
		t.Fatalf("err = %v", err)
	}
	if got := s.Bookings(""); len(got) != 0 {
		t.Fatalf("bookings %+v", got)
	}
	s.Wait()
	r.None(t)
}

func TestSlowHonoursContext(t *testing.T) {
	s := &courier.Simulator{Mode: courier.ModeManual}
	defer s.Close()
	s.Faults.SlowRate, s.Faults.Slow = 1, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.VerifyTracking(ctx, "SF", "1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestSeededFaultsAreReproducible(t *testing.T) {
	draw := func() []bool {
		s := &courier.Simulator{Mode: courier.ModeManual}
		defer s.Close()
		s.Faults.ErrorRate, s.Faults.Seed = 0.5, 42
		var out []bool
		for range 32 {
			_, err := s.VerifyTracking(context.Background(), "SF", "1")
			out = append(out, err != nil)
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs", i)
		}
	}
}

func TestVerifyTracking(t *testing.T) {
	s := &courier.Simulator{Mode: courier.ModeManual}
	defer s.Close()
	for no, want := range map[string]bool{"SF123": true, "": false, "BAD1": false, "bad1": true} {
		if ok, err := s.VerifyTracking(context.Background(), "SF", no); err != nil || ok != want {
			t.Errorf("VerifyTracking(%q) = %v, %v", no, ok, err)
		}
	}
}

func TestCloseStopsAllGoroutines(t *testing.T) {
	r := newReceiver(t)
	s := &courier.Simulator{Sender: r.Sender(), Delay: time.Hour}
	for i := range 20 {
		if _, err := s.BookPickup(context.Background(), pickup("T", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Pending(); n != 20 {
		t.Fatalf("%d bookings pending, want 20", n)
	}
	_ = s.Close() // returns once every goroutine has; if one does not stop, the test hangs to its deadline
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d bookings pending after Close", n)
	}
	if _, err := s.BookPickup(context.Background(), pickup("T", 99)); !errors.Is(err, courier.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	r.None(t)
}

// A subscribed parcel the simulator never booked (a self-shipped return) is
// reported delivered by carrier and tracking number, without a ticket id, once
// however often it is subscribed.
func TestSubscribedParcelReportedByTrackingNumber(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r, 10*time.Millisecond)
	for range 2 {
		if err := s.SubscribeTracking(context.Background(), "SF", "SF42"); err != nil {
			t.Fatal(err)
		}
	}
	ev := r.Next(t)
	if ev.Type != models.CourierDelivered || ev.TicketID != "" || ev.Carrier != "SF" || ev.TrackingNo != "SF42" || ev.Validate() != nil {
		t.Fatalf("event %+v (%v)", ev, ev.Validate())
	}
	s.Wait()
	r.None(t)
}
