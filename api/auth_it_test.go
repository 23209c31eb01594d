package api_test

import (
	"net/http"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// The Bearer scheme matches in any case (RFC 9110 §11.1), with one or more
// spaces before the key; any other scheme, or no key, is a 401.
func TestBearerSchemeInAnyCase(t *testing.T) {
	key := h.keys["platform"]
	cases := []struct {
		name, header string
		want         int
	}{
		{"Bearer", "Bearer " + key, http.StatusNotFound},
		{"bearer", "bearer " + key, http.StatusNotFound},
		{"BEARER", "BEARER " + key, http.StatusNotFound},
		{"bEaReR", "bEaReR " + key, http.StatusNotFound},
		{"two spaces", "Bearer  " + key, http.StatusNotFound},
		{"another scheme", "Basic " + key, http.StatusUnauthorized},
		{"no space", "Bearer" + key, http.StatusUnauthorized},
		{"no key", "bearer ", http.StatusUnauthorized},
		{"an unknown key", "bearer not-a-key-of-this-server", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e apiError
			got := call(t, http.MethodGet, "/v1/tickets/AS-no-such-ticket", "", nil, &e, "Authorization", c.header)
			want := map[int]string{http.StatusNotFound: models.ENOTFOUND, http.StatusUnauthorized: models.EUNAUTHORIZED}[c.want]
			if got != c.want || e.Error.Code != want {
				t.Errorf("Authorization %q: %d %q, want %d %q", c.header, got, e.Error.Code, c.want, want)
			}
		})
	}
}
