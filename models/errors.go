package models

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in the api package.
const (
	EMALFORMED    = "malformed"           // a body that is not JSON: 400
	EINVALID      = "invalid"             // bad parameters: 422
	ECONFLICT     = "conflict"            // not allowed in the current state, or a duplicate with another body: 409
	EPRECONDITION = "precondition_failed" // the ticket moved on since the caller read it (If-Match): 412
	ENOTFOUND     = "not_found"           // 404
	EFORBIDDEN    = "forbidden"           // the caller is not a party allowed to do this: 403
	EUNAUTHORIZED = "unauthorized"        // missing or bad credentials or signature: 401
	ETOOLARGE     = "too_large"           // body over the size limit: 413
	EUNAVAILABLE  = "unavailable"         // a dependency (Temporal, the database) is down: 503
	ETOOMANY      = "rate_limited"        // over a rate limit, ours or Temporal's: 429
	EINTERNAL     = "internal"            // 500
)

// KnownErrorCode says whether code is one of the codes above: an activity's
// application error of such a type carries a domain error across Temporal.
func KnownErrorCode(code string) bool {
	switch code {
	case EMALFORMED, ETIMEOUT, EINVALID, ECONFLICT, EPRECONDITION, ENOTFOUND, EFORBIDDEN,
		EUNAUTHORIZED, ETOOLARGE, EUNAVAILABLE, ETOOMANY, EINTERNAL:
		return true
	}
	return false
}

// Error is the one error type of the domain. Message is written for a person and
// says what to change.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a
// generic message for other errors (their text may hold internals).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
