package courier_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// The simulator served over the courier protocol (Simulator.API) is what the
// HTTP adapter expects of a real courier: bookings of each leg, a booking
// repeated under its key answered with the first, a cancellation, tracking known
// or not, a subscription; a wrong API key refused.
func TestAPIServesTheProtocol(t *testing.T) {
	sim := &courier.Simulator{Mode: courier.ModeManual}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim.API("ck-1"))
	t.Cleanup(srv.Close)
	h := &courier.HTTP{BaseURL: srv.URL, APIKey: "ck-1", Timeout: time.Minute, Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
	ctx := context.Background()

	b1, err := h.BookPickup(ctx, pickup("T1", 1))
	if err != nil || b1.BookingID == "" || b1.TrackingNo == "" {
		t.Fatalf("pickup: %+v, %v", b1, err)
	}
	if again, err := h.BookPickup(ctx, pickup("T1", 1)); err != nil || again != b1 {
		t.Fatalf("the same attempt again: %+v, %v; want the first booking %+v", again, err, b1)
	}
	if b2, err := h.BookPickup(ctx, pickup("T1", 2)); err != nil || b2.BookingID == b1.BookingID {
		t.Fatalf("a second attempt: %+v, %v; want a booking of its own", b2, err)
	}
	if _, err := h.BookSwapVisit(ctx, pickup("T2", 1)); err != nil {
		t.Fatal(err)
	}
	if err := h.CancelPickup(ctx, "T1", b1.BookingID); err != nil {
		t.Fatal(err)
	}
	if bs := sim.Bookings("T1"); len(bs) != 2 || !bs[0].Cancelled && !bs[1].Cancelled {
		t.Fatalf("the courier's bookings of T1: %+v", bs)
	}
	if ok, err := h.VerifyTracking(ctx, "SF", "SF123"); err != nil || !ok {
		t.Fatalf("a known parcel: %v %v", ok, err)
	}
	if ok, err := h.VerifyTracking(ctx, "SF", "BAD1"); err != nil || ok {
		t.Fatalf("an unknown parcel: %v %v", ok, err)
	}
	if err := h.SubscribeTracking(ctx, "SF", "SF123"); err != nil {
		t.Fatal(err)
	}
	wrong := *h
	wrong.APIKey, wrong.Retries = "ck-other", -1
	if _, err := wrong.BookPickup(ctx, pickup("T3", 1)); providerapi.Status(err) != http.StatusUnauthorized {
		t.Fatalf("another API key: %v, want 401", err)
	}
}

// A courier that keeps its ledger (LedgerFile) and stops between a visit's two
// events sends the rest after a restart (at least once), and a cancelled visit
// sends nothing.
func TestLedgerFileSendsWhatWasPendingAfterARestart(t *testing.T) {
	r := newReceiver(t)
	ledger := filepath.Join(t.TempDir(), "courier.json")
	first := &courier.Simulator{Sender: r.Sender(), Delay: 30 * time.Millisecond, LedgerFile: ledger}
	b, err := first.BookPickup(context.Background(), pickup("T1", 1))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err := first.BookPickup(context.Background(), pickup("T2", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.CancelPickup(context.Background(), "T2", cancelled.BookingID); err != nil {
		t.Fatal(err)
	}
	if ev := r.Next(t); ev.Type != models.CourierPickedUp || ev.TicketID != "T1" {
		t.Fatalf("first event %+v", ev)
	}
	_ = first.Close() // stops before delivered

	again := &courier.Simulator{Sender: r.Sender(), Delay: 10 * time.Millisecond, LedgerFile: ledger}
	t.Cleanup(func() { _ = again.Close() })
	if bs := again.Bookings(""); len(bs) != 2 {
		t.Fatalf("after the restart the courier knows %+v", bs)
	}
	// At least once: picked_up may come again (its send was cut by the stop
	// before it was marked sent); the webhook drops the repeat by its event id.
	for {
		ev := r.Next(t)
		if ev.TicketID != "T1" || ev.TrackingNo != b.TrackingNo {
			t.Fatalf("after the restart: %+v, want only T1's events", ev)
		}
		if ev.Type == models.CourierDelivered {
			break
		}
	}
	again.Wait()
	r.None(t) // nothing of the cancelled visit
	if same, err := again.BookPickup(context.Background(), pickup("T1", 1)); err != nil || same != b {
		t.Fatalf("the booking's key after the restart: %+v, %v; want %+v", same, err, b)
	}
}
