package activities

import (
	"errors"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/models"
)

// final turns a provider's final refusal (a 4xx other than 408 and 429) into a
// non-retryable error: the same request gets the same answer, so the ticket
// hears of it at once instead of after the activity's retries.
func final(err error) error {
	switch s := providerapi.Status(err); {
	case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
		return temporal.NewNonRetryableApplicationError(err.Error(), models.RefusedByProvider, err)
	}
	return err
}

// isRefusal reports whether err is a provider's final refusal (see final).
func isRefusal(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == models.RefusedByProvider
}

// finalOf is final for a call with a result.
func finalOf[T any](v T, err error) (T, error) { return v, final(err) }
