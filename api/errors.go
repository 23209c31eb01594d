package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

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

// domainError turns errors from Temporal, Echo and the store into *models.Error.
func domainError(err error) error {
	var (
		me       *models.Error
		appErr   *temporal.ApplicationError
		httpErr  *echo.HTTPError
		notFound *serviceerror.NotFound
		started  *serviceerror.WorkflowExecutionAlreadyStarted
		unavail  *serviceerror.Unavailable
		badArg   *serviceerror.InvalidArgument
		tooMany  *serviceerror.ResourceExhausted
		notReady *serviceerror.WorkflowNotReady
		ended    *temporal.WorkflowExecutionError
	)
	switch {
	case errors.As(err, &me):
		return me
	case errors.As(err, &appErr) && statusOf[appErr.Type()] != 0:
		return &models.Error{Code: appErr.Type(), Message: appErr.Message()}
	case errors.As(err, &httpErr):
		return echoError(httpErr)
	case errors.As(err, &notFound):
		// Handlers check the read model first, so a workflow that is gone has ended.
		return models.Errorf(models.ECONFLICT, "the process has ended and takes no more messages")
	case errors.As(err, &started):
		return models.Errorf(models.ECONFLICT, "already started")
	case errors.As(err, &badArg):
		// Temporal refused what we passed on from the client (an id or key too long
		// for it): the client's input, so a 422 with Temporal's reason.
		return models.Errorf(models.EINVALID, "the request was refused: %s", badArg.Message)
	case errors.As(err, &tooMany):
		return models.Errorf(models.ETOOMANY, "the ticket is taking too many requests at once; retry after a moment with the same Idempotency-Key")
	case errors.As(err, &ended):
		// A run that ended without its result: terminated or failed by an operator.
		return models.Errorf(models.ECONFLICT, "the process ended without a result (terminated or failed); see it in the Temporal Web UI")
	case errors.As(err, &notReady):
		return models.Errorf(models.EUNAVAILABLE, "the ticket is starting; retry with the same Idempotency-Key")
	case errors.Is(err, context.Canceled):
		// The caller hung up; nothing is wrong with the server.
		return models.Errorf(models.EUNAVAILABLE, "the request was cancelled before it finished; retry with the same Idempotency-Key")
	case errors.As(err, &unavail), errors.Is(err, context.DeadlineExceeded):
		return models.Errorf(models.EUNAVAILABLE, "the workflow service did not answer in time; retry with the same Idempotency-Key")
	}
	return err
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
