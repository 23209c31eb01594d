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

var secret = []byte("0123456789abcdef-test-secret")

func fastSender(url string) *webhook.Sender {
	return &webhook.Sender{URL: url, Secret: secret, Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
}

func TestSendSignsBodyAndTimestamp(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/webhooks/payment" || r.Method != http.MethodPost {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if !models.ValidWebhookSignature(secret, raw, r.Header.Get("X-Signature")) {
			t.Errorf("signature %q does not verify", r.Header.Get("X-Signature"))
		}
		if ts := r.Header.Get("X-Timestamp"); ts != strconv.FormatInt(now.Unix(), 10) {
			t.Errorf("X-Timestamp = %q", ts)
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
	if err := s.Send(context.Background(), "/v1/webhooks/payment", ev); err != nil {
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
	if err := fastSender(srv.URL).Send(context.Background(), "/v1/webhooks/courier", map[string]string{"a": "b"}); err != nil {
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
	err := fastSender(srv.URL).Send(context.Background(), "/v1/webhooks/courier", map[string]string{})
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
	if err := s.Send(context.Background(), "/x", 1); err == nil || !strings.Contains(err.Error(), "500") {
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
	s := &webhook.Sender{URL: srv.URL, Secret: secret, Backoff: webhook.Backoff{Min: time.Hour}}
	// Whenever the deadline strikes (during the post or the hour-long backoff), Send
	// must return its error; if it did not stop, the test would hang to its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Send(ctx, "/x", 1); !errors.Is(err, context.DeadlineExceeded) {
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
