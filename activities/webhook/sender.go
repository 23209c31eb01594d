// Package webhook sends signed webhooks the way our API verifies them (api/webhooks.go):
// the JSON body is signed with models.SignWebhook into X-Signature
// ("sha256=<hex HMAC-SHA256 of the raw body>") and X-Timestamp carries the send time in
// unix seconds. The simulated courier and payment providers use it to call back.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aftersales/aftersales/models"
)

// DefaultTries is how many times Send tries before giving up when Sender.Tries is zero.
const DefaultTries = 6

// Sender posts signed JSON webhooks to URL+path. It is safe for concurrent use; its
// fields must not change once sending has started.
type Sender struct {
	URL    string           // base URL of our API, e.g. http://127.0.0.1:8080
	Secret []byte           // the webhook HMAC secret
	Client *http.Client     // http.Client with a 10s timeout when nil
	Now    func() time.Time // time.Now when nil; stamps X-Timestamp

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

// Send marshals body to JSON and POSTs it to URL+path, signed. Each attempt carries a
// fresh X-Timestamp. A 2xx answer is success. 5xx, 408, 429 and network errors are
// retried with backoff up to Tries attempts; any other 4xx stops at once with a
// *StatusError naming the status and the receiver's answer. Send returns ctx's error
// when ctx ends first.
func (s *Sender) Send(ctx context.Context, path string, body any) error {
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
		if retry, last = s.post(ctx, path, raw); !retry {
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
func (s *Sender) post(ctx context.Context, path string, raw []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.URL, "/")+path, bytes.NewReader(raw))
	if err != nil {
		return false, fmt.Errorf("webhook %s: %w", path, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", models.SignWebhook(s.Secret, raw))
	req.Header.Set("X-Timestamp", strconv.FormatInt(now().Unix(), 10))
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
