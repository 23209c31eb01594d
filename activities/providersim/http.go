package providersim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
)

// Authorized reports whether r carries `Authorization: Bearer <apiKey>`, compared
// in constant time, as a simulated provider's API checks its callers.
func Authorized(r *http.Request, apiKey string) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+apiKey)) == 1
}

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
