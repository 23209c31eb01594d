package courier_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/providerapi/providerapitest"
	"github.com/aftersales/aftersales/activities/webhook"
)

// client calls p. Its per-attempt timeout is too long to fire, so that on a slow
// machine no attempt is retried that the test does not expect.
func client(p *providerapitest.Provider) *courier.HTTP {
	return &courier.HTTP{BaseURL: p.URL + "/v1/", APIKey: "k-123", Timeout: time.Hour,
		Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
}

const booked = `{"booking_id":"B1","tracking_no":"SF1"}`

func TestHTTPBookingRequests(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) { return http.StatusCreated, booked })
	h := client(p)
	ctx := context.Background()
	ship := activities.ShipmentRequest{TicketID: "T1", SKU: "B", Address: "1 Road"}
	calls := []struct {
		call      func() (activities.Booking, error)
		path, key string
	}{
		{func() (activities.Booking, error) { return h.BookPickup(ctx, pickup("T1", 2)) }, "/v1/pickups", "T1:pickup:2"},
		{func() (activities.Booking, error) { return h.BookSwapVisit(ctx, pickup("T1", 1)) }, "/v1/swap-visits", "T1:swap_visit:1"},
		{func() (activities.Booking, error) { return h.ShipReplacement(ctx, ship) }, "/v1/shipments", "T1:replacement:1"},
		{func() (activities.Booking, error) { return h.SendToRepair(ctx, ship) }, "/v1/repairs", "T1:repair:1"},
	}
	for i, c := range calls {
		b, err := c.call()
		if err != nil || b != (activities.Booking{BookingID: "B1", TrackingNo: "SF1"}) {
			t.Fatalf("%s: %+v, %v", c.path, b, err)
		}
		got := p.Requests()[i]
		if got.Method != http.MethodPost || got.Path != c.path || got.Auth != "Bearer k-123" || got.Key != c.key {
			t.Fatalf("request %+v, want POST %s key %s", got, c.path, c.key)
		}
	}
	var req activities.PickupRequest
	if err := json.Unmarshal(p.Requests()[0].Body, &req); err != nil || req.TicketID != "T1" || req.Attempt != 2 || len(req.Items) != 1 {
		t.Fatalf("pickup body %s: %v", p.Requests()[0].Body, err)
	}
}

func TestHTTPTimeoutHonoured(t *testing.T) {
	var p providerapitest.Stalled
	h := &courier.HTTP{BaseURL: "http://courier.test/v1", Timeout: 50 * time.Millisecond, Retries: 1,
		Backoff: webhook.Backoff{Min: time.Millisecond}, Client: p.Client()}
	_, err := h.BookPickup(context.Background(), pickup("T1", 1))
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v", err)
	}
	if n := p.Attempts(); n != 2 {
		t.Fatalf("%d attempts, want 2 (a timeout is retried)", n)
	}
}

func TestHTTPCancelAndTracking(t *testing.T) {
	p := providerapitest.New(t, func(_ int, r *http.Request) (int, string) {
		switch r.URL.Path {
		case "/v1/pickups/B1/cancel", "/v1/tracking/SF/123":
			return http.StatusOK, `{}`
		}
		return http.StatusNotFound, `{"error":"not found"}`
	})
	h, ctx := client(p), context.Background()
	if err := h.CancelPickup(ctx, "T1", "B1"); err != nil {
		t.Fatal(err)
	}
	if err := h.CancelPickup(ctx, "T1", "B404"); err != nil {
		t.Fatalf("unknown booking: %v", err)
	}
	if ok, err := h.VerifyTracking(ctx, "SF", "123"); !ok || err != nil {
		t.Fatalf("known: %v %v", ok, err)
	}
	if ok, err := h.VerifyTracking(ctx, "SF", "999"); ok || err != nil {
		t.Fatalf("unknown: %v %v", ok, err)
	}
	reqs := p.Requests()
	if reqs[0].Path != "/v1/pickups/B1/cancel" || reqs[0].Key != "T1:cancel:B1" || string(reqs[0].Body) != `{"ticket_id":"T1"}` {
		t.Fatalf("cancel request %+v", reqs[0])
	}
	if reqs[2].Method != http.MethodGet || reqs[2].Key != "" || reqs[2].Auth != "Bearer k-123" {
		t.Fatalf("tracking request %+v", reqs[2])
	}
}
