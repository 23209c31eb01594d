package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

var keys = mustKeys(webhook.NewSecret())

func mustKeys(text string) webhook.Keys {
	k, err := webhook.ParseKeys(text)
	if err != nil {
		panic(err)
	}
	return k
}

func fastSender(url string) *webhook.Sender {
	return &webhook.Sender{URL: url, Keys: keys, Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
}

func TestSendSignsIDTimestampAndBody(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/webhooks/payment" || r.Method != http.MethodPost {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if err := keys.Verify(r.Header, raw, now); err != nil {
			t.Errorf("signature %q does not verify: %v", r.Header.Get(webhook.HeaderSignature), err)
		}
		if ts := r.Header.Get(webhook.HeaderTimestamp); ts != strconv.FormatInt(now.Unix(), 10) {
			t.Errorf("webhook-timestamp = %q", ts)
		}
		if id := r.Header.Get(webhook.HeaderID); id != "e1" {
			t.Errorf("webhook-id = %q, want the event id e1", id)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		got.Store(string(raw))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s := fastSender(srv.URL + "/")
	s.Now = func() time.Time { return now }
	ev := models.PaymentEvent{EventID: "e1", TicketID: "t1", RefundKey: "t1:refund:1", Status: "succeeded"}
	if err := s.Send(context.Background(), "/v1/webhooks/payment", ev.EventID, ev); err != nil {
		t.Fatal(err)
	}
	if body, _ := got.Load().(string); !strings.Contains(body, `"event_id":"e1"`) {
		t.Fatalf("body = %s", body)
	}
}

func TestSendRetries503ThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "retry later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	if err := fastSender(srv.URL).Send(context.Background(), "/v1/webhooks/courier", "e1", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
}

func TestSendStopsOn4xx(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":{"code":"unauthorized","message":"bad signature"}}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	err := fastSender(srv.URL).Send(context.Background(), "/v1/webhooks/courier", "e1", map[string]string{})
	var se *webhook.StatusError
	if !errors.As(err, &se) || se.Status != 401 || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("err = %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("calls = %d, want 1", n)
	}
}

func TestSendGivesUpAfterTries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	s := fastSender(srv.URL)
	s.Tries = 4
	if err := s.Send(context.Background(), "/x", "e1", 1); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v", err)
	}
	if n := calls.Load(); n != 4 {
		t.Fatalf("calls = %d, want 4", n)
	}
}

func TestSendHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	s := &webhook.Sender{URL: srv.URL, Keys: keys, Backoff: webhook.Backoff{Min: time.Hour}}
	// Whenever the deadline strikes (during the post or the hour-long backoff), Send
	// must return its error; if it did not stop, the test would hang to its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, "/x", "e1", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestBackoffDelay(t *testing.T) {
	var b webhook.Backoff
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if d := b.Delay(i + 1); d != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, d, w)
		}
	}
}
