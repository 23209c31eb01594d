package courier_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// An event the courier built and could not deliver before it stopped is sent
// after the restart with the body it had (its at included), so the API takes
// it as the repeat it is rather than refusing "another body".
func TestEventSentAgainAfterARestartKeepsItsBody(t *testing.T) {
	var (
		mu     sync.Mutex
		accept bool
		tried  []models.CourierEvent // every delivery attempt, refused or not
		got    = make(chan models.CourierEvent, 16)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev models.CourierEvent
		_ = json.Unmarshal(raw, &ev)
		mu.Lock()
		tried = append(tried, ev)
		ok := accept
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		got <- ev
	}))
	t.Cleanup(srv.Close)
	keys, err := webhook.ParseKeys(webhook.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(t.TempDir(), "courier.json")
	built := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	first := &courier.Simulator{Sender: &webhook.Sender{URL: srv.URL, Keys: keys}, Delay: time.Millisecond, LedgerFile: ledger,
		Now: func() time.Time { return built }}
	if _, err := first.BookPickup(context.Background(), pickup("T1", 1)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		n := len(tried)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the courier never tried to send picked_up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = first.Close()

	mu.Lock()
	accept = true
	mu.Unlock()
	again := &courier.Simulator{Sender: &webhook.Sender{URL: srv.URL, Keys: keys}, Delay: time.Millisecond, LedgerFile: ledger,
		Now: func() time.Time { return built.Add(time.Hour) }}
	t.Cleanup(func() { _ = again.Close() })
	again.Bookings("") // reads the ledger and resumes
	select {
	case ev := <-got:
		if ev.Type != models.CourierPickedUp || !ev.At.Equal(built) {
			t.Errorf("sent again: %s at %s, want picked_up at %s as first built", ev.Type, ev.At, built)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing sent after the restart")
	}
}
