// Package webhooktest stands in for one webhook endpoint of our API in tests of the
// simulated providers: it verifies what a webhook.Sender posts the way the API does
// (api/webhooks.go) and hands the decoded events to the test.
package webhooktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
)

// Event is a webhook body that can check itself, such as models.CourierEvent.
type Event interface{ Validate() error }

// Receiver is an httptest server for the webhook at one path. For every request it
// checks the path and the Standard Webhooks headers (webhook.Keys.Verify, as the API
// does) and that webhook-id is the event's id, decodes the body into E (unknown fields are an error) and validates it;
// each failed check is a t.Errorf. A bad signature is answered 401 and dropped; any
// other request is answered 202 and its event queued for Next (up to 100 unread).
type Receiver[E Event] struct {
	*httptest.Server
	Keys   webhook.Keys // the whsec_ keys Sender signs with
	path   string
	events chan E
}

// New starts a Receiver for path; it is closed when the test ends.
func New[E Event](t *testing.T, path string) *Receiver[E] {
	t.Helper()
	keys, err := webhook.ParseKeys(webhook.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver[E]{Keys: keys, path: path, events: make(chan E, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.serve(t, w, req) }))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver[E]) serve(t *testing.T, w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	if req.URL.Path != r.path {
		t.Errorf("webhook path %s, want %s", req.URL.Path, r.path)
	}
	if err := r.Keys.Verify(req.Header, raw, time.Now()); err != nil {
		t.Errorf("webhook %s: %v", raw, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev E
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Errorf("body %s: %v", raw, err)
	} else if err := ev.Validate(); err != nil {
		t.Errorf("event %s: %v", raw, err)
	} else if id := req.Header.Get(webhook.HeaderID); !bytes.Contains(raw, []byte(`"event_id":"`+id+`"`)) {
		t.Errorf("webhook-id %q is not the event_id of %s", id, raw)
	}
	r.events <- ev
	w.WriteHeader(http.StatusAccepted)
}

// Sender returns a webhook.Sender that posts to r with r's secret. Its client has no
// timeout: on a slow machine a timed-out attempt would be retried and so deliver an
// event twice.
func (r *Receiver[E]) Sender() *webhook.Sender {
	return &webhook.Sender{URL: r.URL, Keys: r.Keys, Client: &http.Client{}}
}

// Next returns the next event, waiting for it as long as the test may run: the test
// fails if none has arrived shortly before its deadline (go test -timeout).
func (r *Receiver[E]) Next(t *testing.T) E {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-beforeDeadline(t):
		t.Fatal("no webhook arrived before the test's deadline")
		var zero E
		return zero
	}
}

// None fails the test if an event has arrived that Next has not returned. It does not
// wait: call it once the senders are done (a simulator's Wait or Close has returned).
// A Send returns only after r has queued its event, so by then every event sent is
// seen.
func (r *Receiver[E]) None(t *testing.T) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("unexpected webhook %+v", ev)
	default:
	}
}

// deadlineGrace is how long before the test's deadline Next gives up, so that a
// missing webhook fails with a message rather than the test binary's timeout panic.
const deadlineGrace = time.Second

// beforeDeadline fires deadlineGrace before t's deadline; it never fires when the
// test has no deadline (-timeout 0).
func beforeDeadline(t *testing.T) <-chan time.Time {
	deadline, ok := t.Deadline()
	if !ok {
		return nil
	}
	return time.After(time.Until(deadline) - deadlineGrace)
}
