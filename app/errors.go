package app

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/models"
)

// DomainError turns an error from Temporal or the store into a *models.Error
// whose code says what the caller can do; a *models.Error passes unchanged, and
// an error it does not know is returned as it is (an internal error).
func DomainError(err error) error {
	var (
		me       *models.Error
		appErr   *temporal.ApplicationError
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
	case errors.As(err, &appErr) && models.KnownErrorCode(appErr.Type()):
		return &models.Error{Code: appErr.Type(), Message: appErr.Message()}
	case errors.As(err, &notFound):
		// Commands check the read model first, so a workflow that is gone has ended.
		return models.Errorf(models.ECONFLICT, "the process has ended and takes no more messages")
	case errors.As(err, &started):
		return models.Errorf(models.ECONFLICT, "already started")
	case errors.As(err, &badArg):
		// Temporal refused what we passed on from the client (an id or key too long
		// for it): the client's input, so its reason.
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
