package payment

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// HTTP defaults.
const (
	DefaultTimeout = providerapi.DefaultTimeout // per attempt
	DefaultRetries = providerapi.DefaultRetries // retries after the first attempt
)

// ProviderError is a final answer (4xx other than 408/429) from the payment provider's
// API, or a 5xx that outlasted the retries. Its API field is "payment".
type ProviderError = providerapi.Error

var _ activities.Payment = (*HTTP)(nil)

// HTTP is activities.Payment against a payment provider's JSON API (the protocol is in
// the package comment). Every pay call sends the movement's key as Idempotency-Key, a
// retried call reuses it, and a 409 (key already used) returns the provider's existing
// record, so no key is paid twice. It is safe for concurrent use; set the fields
// before use.
type HTTP struct {
	BaseURL string          // e.g. https://pay.example.com/v1
	APIKey  string          // sent as Authorization: Bearer <APIKey>
	Timeout time.Duration   // per attempt; DefaultTimeout when zero
	Retries int             // retries after the first attempt; DefaultRetries when zero, none when negative
	Backoff webhook.Backoff // waits between attempts; 200ms doubling to 5s when zero
	Client  *http.Client    // http.DefaultClient when nil
}

// Refund posts to /refunds.
func (h *HTTP) Refund(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return h.pay(ctx, "/refunds", req)
}

// Compensate posts to /compensations.
func (h *HTTP) Compensate(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return h.pay(ctx, "/compensations", req)
}

// ChargeRecovery posts to /recoveries.
func (h *HTTP) ChargeRecovery(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return h.pay(ctx, "/recoveries", req)
}

// ClaimFreightInsurance posts to /freight-claims.
func (h *HTTP) ClaimFreightInsurance(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return h.pay(ctx, "/freight-claims", req)
}

// Lookup asks GET /payments/{key}: 200 is the record, 404 is found=false.
func (h *HTTP) Lookup(ctx context.Context, key string) (activities.Receipt, bool, error) {
	path := "/payments/" + url.PathEscape(key)
	var r activities.Receipt
	err := h.api().Do(ctx, http.MethodGet, path, "", nil, &r)
	switch {
	case providerapi.Status(err) == http.StatusNotFound:
		return activities.Receipt{Key: key}, false, nil
	case err != nil:
		return activities.Receipt{}, false, err
	}
	r, err = receipt(http.MethodGet, path, key, r)
	return r, err == nil, err
}

// payBody is the JSON body of every pay call.
type payBody struct {
	Key         string `json:"key"`
	TicketID    string `json:"ticket_id"`
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	// Lines: the order lines paid for, summing to AmountCents.
	Lines []models.LineCents `json:"lines,omitempty"`
}

func (h *HTTP) pay(ctx context.Context, path string, req activities.MoneyRequest) (activities.Receipt, error) {
	if req.Key == "" {
		return activities.Receipt{}, fmt.Errorf("payment API POST %s: the movement has no key; refusing to pay without one", path)
	}
	in := payBody{Key: req.Key, TicketID: req.TicketID, OrderID: req.OrderID, AmountCents: req.AmountCents, Currency: req.Currency, Lines: req.Lines}
	var r activities.Receipt
	err := h.api().Do(ctx, http.MethodPost, path, req.Key, in, &r)
	switch {
	case providerapi.Status(err) == http.StatusConflict:
		existing, found, lerr := h.Lookup(ctx, req.Key)
		if lerr != nil {
			return activities.Receipt{}, fmt.Errorf("payment API POST %s: key %s already used, and looking it up failed: %w", path, req.Key, lerr)
		} else if !found {
			return activities.Receipt{}, err
		}
		return existing, nil
	case err != nil:
		return activities.Receipt{}, err
	}
	return receipt(http.MethodPost, path, req.Key, r)
}

// receipt checks a provider record decoded from the answer to a call for key; a
// record without a key is taken to be key's.
func receipt(method, path, key string, r activities.Receipt) (activities.Receipt, error) {
	if r.Key == "" {
		r.Key = key
	}
	switch {
	case r.Key != key:
		return activities.Receipt{}, fmt.Errorf("payment API %s %s: answer is for key %s, not %s", method, path, r.Key, key)
	case r.Status != models.RefundSent && r.Status != models.RefundSucceeded && r.Status != models.RefundFailed:
		return activities.Receipt{}, fmt.Errorf("payment API %s %s: unknown status %q (want sent, succeeded or failed)", method, path, r.Status)
	}
	return r, nil
}

// api is the shared JSON client with h's settings.
func (h *HTTP) api() *providerapi.Client {
	return &providerapi.Client{Name: "payment", BaseURL: h.BaseURL, APIKey: h.APIKey,
		Timeout: h.Timeout, Retries: h.Retries, Backoff: h.Backoff, HTTPClient: h.Client}
}
