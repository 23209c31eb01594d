package courier

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providersim"
)

// API serves the simulator over the courier provider protocol of the package
// comment, so a process of its own (`aftersales providers`) plays the courier and
// workers reach it through HTTP exactly as they would a real one. Callers send
// `Authorization: Bearer <apiKey>`; a booking repeated under its idempotency key
// (ticket, kind, attempt) answers the first booking.
func (s *Simulator) API(apiKey string) http.Handler {
	pickups := map[string]func(context.Context, activities.PickupRequest) (activities.Booking, error){
		"/pickups": s.BookPickup, "/swap-visits": s.BookSwapVisit,
	}
	shipments := map[string]func(context.Context, activities.ShipmentRequest) (activities.Booking, error){
		"/shipments": s.ShipReplacement, "/repairs": s.SendToRepair,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !providersim.Authorized(r, apiKey) {
			providersim.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "send Authorization: Bearer <the courier's API key>"})
			return
		}
		path := r.URL.Path
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/tracking/"):
			parts := strings.SplitN(strings.TrimPrefix(path, "/tracking/"), "/", 2)
			if len(parts) != 2 {
				providersim.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "GET /tracking/{carrier}/{tracking_no}"})
				return
			}
			known, err := s.VerifyTracking(r.Context(), parts[0], parts[1])
			switch {
			case err != nil:
				failed(w, err)
			case !known:
				providersim.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no parcel " + parts[1]})
			default:
				providersim.WriteJSON(w, http.StatusOK, map[string]string{"carrier": parts[0], "tracking_no": parts[1]})
			}
			return
		case r.Method != http.MethodPost:
		case pickups[path] != nil:
			var req activities.PickupRequest
			if decoded(w, r, &req) {
				b, err := pickups[path](r.Context(), req)
				answerBooking(w, b, err)
			}
			return
		case shipments[path] != nil:
			var req activities.ShipmentRequest
			if decoded(w, r, &req) {
				b, err := shipments[path](r.Context(), req)
				answerBooking(w, b, err)
			}
			return
		case strings.HasPrefix(path, "/pickups/") && strings.HasSuffix(path, "/cancel"):
			var req struct {
				TicketID string `json:"ticket_id"`
			}
			if decoded(w, r, &req) {
				id := strings.TrimSuffix(strings.TrimPrefix(path, "/pickups/"), "/cancel")
				if err := s.CancelPickup(r.Context(), req.TicketID, id); err != nil {
					failed(w, err)
					return
				}
				providersim.WriteJSON(w, http.StatusOK, map[string]string{"booking_id": id, "status": "cancelled"})
			}
			return
		case path == "/tracking-subscriptions":
			var req struct {
				Carrier    string `json:"carrier"`
				TrackingNo string `json:"tracking_no"`
			}
			if decoded(w, r, &req) {
				if err := s.SubscribeTracking(r.Context(), req.Carrier, req.TrackingNo); err != nil {
					failed(w, err)
					return
				}
				providersim.WriteJSON(w, http.StatusOK, map[string]string{"status": "subscribed"})
			}
			return
		}
		providersim.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint; see the courier protocol"})
	})
}

// decoded reads a JSON body into v, or answers 400 and reports false.
func decoded(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		providersim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not the JSON of this call: " + err.Error()})
		return false
	}
	return true
}

// answerBooking answers a booking call.
func answerBooking(w http.ResponseWriter, b activities.Booking, err error) {
	if err != nil {
		failed(w, err)
		return
	}
	providersim.WriteJSON(w, http.StatusOK, b)
}

// failed answers an error: the simulator's injected faults and its closing are
// transient, as a real provider's 503; anything else is the caller's request.
func failed(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInjected) || errors.Is(err, ErrAnswerLost) || errors.Is(err, ErrClosed) {
		providersim.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	providersim.WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
}
