package courier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ProviderError is a final answer (4xx other than 408/429) from the courier's API,
// or a 5xx that outlasted the retries.
type ProviderError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("courier API %s %s answered %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// call sends one logical request, retrying 5xx, 408, 429, network errors and
// per-attempt timeouts. It returns the status and body of the final answer; err is
// set only when no final answer came (transport failure, retries used up, ctx done).
func (h *HTTP) call(ctx context.Context, method, path, idemKey string, in any) (int, []byte, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return 0, nil, fmt.Errorf("courier API %s %s: encode: %w", method, path, err)
		}
	}
	retries := h.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	var last error
	for attempt := 0; attempt <= max(retries, 0); attempt++ {
		if attempt > 0 {
			if err := h.Backoff.Wait(ctx, attempt); err != nil {
				return 0, nil, fmt.Errorf("courier API %s %s: %w (last error: %v)", method, path, err, last)
			}
		}
		status, body, err := h.once(ctx, method, path, idemKey, payload)
		switch {
		case err != nil:
			last = fmt.Errorf("courier API %s %s: %w", method, path, err)
			if ctx.Err() != nil {
				return 0, nil, last
			}
		case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
			last = &ProviderError{Method: method, Path: path, Status: status, Body: string(body)}
		default:
			return status, body, nil
		}
	}
	return 0, nil, fmt.Errorf("gave up after %d tries: %w", max(retries, 0)+1, last)
}

// once makes one attempt bounded by h.Timeout.
func (h *HTTP) once(ctx context.Context, method, path, idemKey string, payload []byte) (int, []byte, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(h.BaseURL, "/")+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.APIKey)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return 0, nil, fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, bytes.TrimSpace(raw), nil
}

// decode reads a 2xx JSON answer into out.
func decode(method, path string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("courier API %s %s: answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}
