package providerapi

import (
	"fmt"
	"net/http"
)

// Error is a final answer from a provider's API: a non-2xx status other than 5xx, 408
// and 429, or one of those that outlasted the retries.
type Error struct {
	API          string // the provider's kind (Client.Name), e.g. "courier"
	Method, Path string // the request; Path is relative to the base URL
	Status       int    // the HTTP status
	Body         string // the answer, without surrounding white space (at most 1 MiB)
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s API %s %s answered %d %s: %s", e.API, e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// Status returns the status of a final answer, that is of an *Error that Do returned
// as is; 0 for nil and for any other error, including a retryable status that
// outlasted the retries. Adapters use it for answers that mean something, such as
// 404 (unknown) or 409 (key already used).
func Status(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	return 0
}
