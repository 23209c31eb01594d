package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// statusOf is the one place an error code becomes an HTTP status.
var statusOf = map[string]int{
	models.EMALFORMED:    http.StatusBadRequest,
	models.ETIMEOUT:      http.StatusRequestTimeout,
	models.EINVALID:      http.StatusUnprocessableEntity,
	models.ECONFLICT:     http.StatusConflict,
	models.EPRECONDITION: http.StatusPreconditionFailed,
	models.ENOTFOUND:     http.StatusNotFound,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	models.EUNAVAILABLE:  http.StatusServiceUnavailable,
	models.ETOOMANY:      http.StatusTooManyRequests,
	models.EINTERNAL:     http.StatusInternalServerError,
}

// retryAfterSeconds is the Retry-After of a 503 (Temporal or the database is
// down) unless the handler set its own.
const retryAfterSeconds = "5"

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// domainError turns errors from Echo, Temporal and the store into *models.Error
// (Temporal's and the store's by app.DomainError, the one place for them).
func domainError(err error) error {
	var httpErr *echo.HTTPError
	if errors.As(err, &httpErr) {
		return echoError(httpErr)
	}
	return app.DomainError(err)
}

func echoError(e *echo.HTTPError) error {
	msg, _ := e.Message.(string)
	switch e.Code {
	case http.StatusNotFound:
		return models.Errorf(models.ENOTFOUND, "no such endpoint; see /openapi.json")
	case http.StatusMethodNotAllowed:
		return models.Errorf(models.ENOTFOUND, "method not allowed on this endpoint; see /openapi.json")
	case http.StatusRequestEntityTooLarge:
		return models.Errorf(models.ETOOLARGE, "request body is larger than the %s limit", bodyLimit)
	case http.StatusUnauthorized:
		return models.Errorf(models.EUNAUTHORIZED, "%s", msg)
	}
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return models.Errorf(models.EINVALID, "%s", msg)
}

// handleError is Echo's error handler: every error leaves as ErrorBody.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	err = domainError(err)
	code := models.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == models.EINTERNAL {
		s.log.Error("internal error", "path", c.Path(), "error", err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", retryAfterSeconds)
		}
	}
	var body ErrorBody
	body.Error.Code, body.Error.Message = code, models.ErrorMessage(err)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}
