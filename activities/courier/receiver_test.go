package courier_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

var secret = []byte("courier-test-secret-0123456789")

// receiver is our API's courier webhook as far as these tests need it: it verifies
// the signature and the timestamp, decodes the event and hands it to the test.
type receiver struct {
	*httptest.Server
	events chan models.CourierEvent
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{events: make(chan models.CourierEvent, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		if req.URL.Path != "/v1/webhooks/courier" {
			t.Errorf("webhook path %s", req.URL.Path)
		}
		if !models.ValidWebhookSignature(secret, raw, req.Header.Get("X-Signature")) {
			t.Errorf("bad signature on %s", raw)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		ts, err := strconv.ParseInt(req.Header.Get("X-Timestamp"), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
			t.Errorf("bad X-Timestamp %q", req.Header.Get("X-Timestamp"))
		}
		var ev models.CourierEvent
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("body %s: %v", raw, err)
		} else if err := ev.Validate(); err != nil {
			t.Errorf("event %s: %v", raw, err)
		}
		r.events <- ev
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) sender() *webhook.Sender {
	return &webhook.Sender{URL: r.URL, Secret: secret}
}

// next waits for the next event.
func (r *receiver) next(t *testing.T) models.CourierEvent {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook arrived")
		return models.CourierEvent{}
	}
}

// none checks that nothing arrives for d.
func (r *receiver) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("unexpected webhook %+v", ev)
	case <-time.After(d):
	}
}
