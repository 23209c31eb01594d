// Package webhook signs, sends and verifies webhooks by the Standard Webhooks convention
// (standardwebhooks.com, DESIGN §4): webhook-id is the event id, webhook-timestamp the
// send time in unix seconds, and webhook-signature "v1,<base64 HMAC-SHA256 of
// "<id>.<timestamp>.<body>">" under each of the provider's whsec_ keys. The API verifies
// with Keys.Verify; the simulated courier and payment providers call back with Sender.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultTries is how many times Send tries before giving up when Sender.Tries is zero.
const DefaultTries = 6

// Sender posts signed JSON webhooks to URL+path. It is safe for concurrent use; its
// fields must not change once sending has started.
type Sender struct {
	URL    string           // base URL of our API, e.g. http://127.0.0.1:8080
	Keys   Keys             // the provider's whsec_ keys
	Client *http.Client     // http.Client with a 10s timeout when nil
	Now    func() time.Time // time.Now when nil; stamps webhook-timestamp

	Tries   int     // attempts in all; DefaultTries when zero
	Backoff Backoff // waits between attempts; 200ms doubling to 5s when zero
}

// StatusError is a refusal (4xx) by the receiver: retrying the same body cannot help.
type StatusError struct {
	Path   string // the webhook path, e.g. /v1/webhooks/courier
	Status int    // the HTTP status
	Body   string // the start of the receiver's answer
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook %s refused with %d %s: %s", e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// Send marshals body to JSON and POSTs it to URL+path, signed, with id (the event's
// id) as webhook-id. Each attempt carries a fresh webhook-timestamp and signature. A 2xx answer is success. 5xx, 408, 429 and network errors are
// retried with backoff up to Tries attempts; any other 4xx stops at once with a
// *StatusError naming the status and the receiver's answer. Send returns ctx's error
// when ctx ends first.
func (s *Sender) Send(ctx context.Context, path, id string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhook %s: encode body: %w", path, err)
	}
	tries := s.Tries
	if tries <= 0 {
		tries = DefaultTries
	}
	var last error
	for attempt := 1; attempt <= tries; attempt++ {
		if attempt > 1 {
			if err := s.Backoff.Wait(ctx, attempt-1); err != nil {
				return fmt.Errorf("webhook %s: %w (last error: %v)", path, err, last)
			}
		}
		var retry bool
		if retry, last = s.post(ctx, path, id, raw); !retry {
			return last
		}
		if ctx.Err() != nil {
			return fmt.Errorf("webhook %s: %w (last error: %v)", path, ctx.Err(), last)
		}
	}
	return fmt.Errorf("webhook %s: gave up after %d tries: %w", path, tries, last)
}

// post makes one attempt and says whether its error is worth retrying: nil on 2xx,
// a *StatusError on a final refusal.
func (s *Sender) post(ctx context.Context, path, id string, raw []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.URL, "/")+path, bytes.NewReader(raw))
	if err != nil {
		return false, fmt.Errorf("webhook %s: %w", path, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	req.Header.Set("Content-Type", "application/json")
	s.Keys.Headers(req.Header, id, now(), raw)
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_, _ = io.Copy(io.Discard, resp.Body)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return true, fmt.Errorf("webhook answered %d %s: %s", code, http.StatusText(code), bytes.TrimSpace(answer))
	default:
		return false, &StatusError{Path: path, Status: code, Body: string(bytes.TrimSpace(answer))}
	}
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}
