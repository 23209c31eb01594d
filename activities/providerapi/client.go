// Package providerapi is the JSON-over-HTTP client the provider adapters
// (courier.HTTP, payment.HTTP) share: bearer auth, an Idempotency-Key that stays the
// same across retries, a timeout per attempt, retries with backoff, and one error type
// for the provider's final refusals. What each endpoint means stays with its adapter.
package providerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
)

// Defaults for the zero Client fields.
const (
	DefaultTimeout = 10 * time.Second // per attempt
	DefaultRetries = 3                // retries after the first attempt
)

// Client calls one provider's JSON API. It is safe for concurrent use and cheap to
// build per call; its fields must not change while a call is running.
type Client struct {
	Name       string          // the provider's kind, e.g. "courier"; starts every error message ("courier API ...")
	BaseURL    string          // e.g. https://courier.example.com/v1; a trailing slash is ignored
	APIKey     string          // sent as Authorization: Bearer <APIKey>
	Timeout    time.Duration   // per attempt; DefaultTimeout when zero or negative
	Retries    int             // retries after the first attempt; DefaultRetries when zero, none when negative
	Backoff    webhook.Backoff // waits between attempts; 200ms doubling to 5s when zero
	HTTPClient *http.Client    // http.DefaultClient when nil
}

// Do sends one logical request to BaseURL+path and decodes a 2xx JSON answer into out
// (nothing is decoded when out is nil).
//
// in, when not nil, is the JSON body (with Content-Type: application/json);
// idempotencyKey, when not empty, is sent as Idempotency-Key on every attempt. 5xx,
// 408, 429, network errors and per-attempt timeouts are retried with Backoff, Retries
// times. Any other non-2xx answer is final and returned as a bare *Error (see Status);
// a retryable answer that outlasted the retries is an *Error wrapped in "gave up after
// N tries". When ctx ends first, Do returns an error wrapping ctx's error.
func (c *Client) Do(ctx context.Context, method, path, idempotencyKey string, in, out any) error {
	status, body, err := c.call(ctx, method, path, idempotencyKey, in)
	switch {
	case err != nil:
		return err
	case status/100 != 2:
		return &Error{API: c.Name, Method: method, Path: path, Status: status, Body: string(body)}
	case out == nil:
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s API %s %s: answer is not the expected JSON: %w", c.Name, method, path, err)
	}
	return nil
}

// call sends one logical request, retrying as Do says. It returns the status and body
// of the final answer; err is set only when no final answer came (encoding failure,
// transport failure, retries used up, ctx done).
func (c *Client) call(ctx context.Context, method, path, idemKey string, in any) (int, []byte, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return 0, nil, fmt.Errorf("%s API %s %s: encode: %w", c.Name, method, path, err)
		}
	}
	retries := c.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	var last error
	for attempt := 0; attempt <= max(retries, 0); attempt++ {
		if attempt > 0 {
			if err := c.Backoff.Wait(ctx, attempt); err != nil {
				return 0, nil, fmt.Errorf("%s API %s %s: %w (last error: %v)", c.Name, method, path, err, last)
			}
		}
		status, body, err := c.once(ctx, method, path, idemKey, payload)
		switch {
		case err != nil:
			last = fmt.Errorf("%s API %s %s: %w", c.Name, method, path, err)
			if ctx.Err() != nil {
				return 0, nil, last
			}
		case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
			last = &Error{API: c.Name, Method: method, Path: path, Status: status, Body: string(body)}
		default:
			return status, body, nil
		}
	}
	return 0, nil, fmt.Errorf("gave up after %d tries: %w", max(retries, 0)+1, last)
}
