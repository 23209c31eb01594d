package activities

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/activities/providerapi"
)

func TestFinalRefusalIsNotRetried(t *testing.T) {
	for _, c := range []struct {
		status int
		final  bool
	}{{400, true}, {403, true}, {422, true}, {408, false}, {429, false}, {500, false}, {503, false}} {
		err := final(&providerapi.Error{API: "payment", Method: "POST", Path: "/refunds", Status: c.status})
		var appErr *temporal.ApplicationError
		isFinal := errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() == "provider_refused"
		if isFinal != c.final {
			t.Errorf("status %d: final %v, want %v (%v)", c.status, isFinal, c.final, err)
		}
	}
	if final(nil) != nil {
		t.Error("final(nil) is not nil")
	}
}
