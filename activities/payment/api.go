package payment

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/providersim"
	"github.com/aftersales/aftersales/models"
)

// API serves the simulator over the payment provider protocol of the package
// comment, so a process of its own (`aftersales providers`) plays the provider
// and workers reach it through HTTP exactly as they would a real one. Callers
// send `Authorization: Bearer <apiKey>`; every pay call names its key in
// Idempotency-Key and in the body, and the simulator pays a key at most once.
// GET /payments?ticket_id= lists the provider's own records (ServeHTTP), for a
// bench to count what it paid.
func (s *Simulator) API(apiKey string) http.Handler {
	pay := map[string]func(context.Context, activities.MoneyRequest) (activities.Receipt, error){
		"/refunds": s.Refund, "/compensations": s.Compensate, "/recoveries": s.ChargeRecovery, "/freight-claims": s.ClaimFreightInsurance,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !providersim.Authorized(r, apiKey) {
			providersim.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "send Authorization: Bearer <the provider's API key>"})
			return
		}
		if r.URL.Path == "/payments" && r.Method == http.MethodGet {
			s.ServeHTTP(w, r) // the provider's ledger, ?ticket_id=: what a bench checks against
			return
		}
		if key, ok := strings.CutPrefix(r.URL.Path, "/payments/"); ok && r.Method == http.MethodGet {
			rec, found, err := s.Lookup(r.Context(), key)
			switch {
			case err != nil:
				providersim.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			case !found:
				providersim.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no payment with key " + key})
			default:
				providersim.WriteJSON(w, http.StatusOK, rec)
			}
			return
		}
		fn, ok := pay[r.URL.Path]
		if !ok || r.Method != http.MethodPost {
			providersim.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: POST /refunds, /compensations, /recoveries, /freight-claims; GET /payments/{key}"})
			return
		}
		var body payBody
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err == nil {
			err = json.Unmarshal(raw, &body)
		}
		switch {
		case err != nil:
			providersim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not the JSON of a payment: " + err.Error()})
			return
		case body.Key == "" || r.Header.Get("Idempotency-Key") != body.Key:
			providersim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "send the payment's key as Idempotency-Key and as the body's key"})
			return
		}
		rec, err := fn(r.Context(), activities.MoneyRequest{Key: body.Key, TicketID: body.TicketID, OrderID: body.OrderID,
			AmountCents: body.AmountCents, Currency: body.Currency, Lines: body.Lines})
		var refused *providerapi.Error
		switch {
		case err == nil:
			providersim.WriteJSON(w, http.StatusOK, rec)
		case errors.As(err, &refused):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(refused.Status)
			_, _ = io.WriteString(w, refused.Body)
		case models.ErrorCode(err) == models.ECONFLICT:
			providersim.WriteJSON(w, http.StatusConflict, map[string]string{"error": models.ErrorMessage(err)})
		case errors.Is(err, ErrInjected), errors.Is(err, ErrAnswerLost), errors.Is(err, ErrClosed):
			// Transient, as a real provider's 503: the caller retries under the same key.
			providersim.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		default:
			providersim.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
		}
	})
}
