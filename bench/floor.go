// Package bench measures full ticket lifecycles over the HTTP API against the floor
// of the same server: a minimal workflow with the same starts, updates, signals and
// activities and empty bodies, driven the same way over HTTP.
package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/worker"
)

// FloorTaskQueue is where the floor workflow runs, beside the product's queue.
const FloorTaskQueue = "aftersales-floor"

// Shape is how many messages and activities one lifecycle takes: the pickup
// return and refund is a create (update-with-start) and 3 updates (approve,
// inspect, evaluate), 3 signals (picked up, delivered, paid) and 2 activities
// (book the pickup, pay the refund).
type Shape struct {
	Updates    int `json:"updates"` // the start's included
	Signals    int `json:"signals"`
	Activities int `json:"activities"`
}

// PickupReturnShape is the shape of the pickup return and refund.
var PickupReturnShape = Shape{Updates: 4, Signals: 3, Activities: 2}

// FloorWorkflow takes shape.Updates updates and shape.Signals signals, runs one
// empty activity after each of the updates 2 .. 1+shape.Activities (as the
// ticket books the pickup after approve and pays after inspect), and ends.
func FloorWorkflow(ctx workflow.Context, shape Shape) error {
	updates, signals, running := 0, 0, 0
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 8}})
	if err := workflow.SetUpdateHandler(ctx, "step", func(ctx workflow.Context) error {
		updates++
		if updates >= 2 && updates < 2+shape.Activities {
			running++
			workflow.Go(ctx, func(ctx workflow.Context) {
				_ = workflow.ExecuteActivity(actx, FloorActivity).Get(ctx, nil)
				running--
			})
		}
		return nil
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, "event")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for ch.Receive(ctx, nil) {
			signals++
		}
	})
	return workflow.Await(ctx, func() bool {
		return updates >= shape.Updates && signals >= shape.Signals && running == 0 && workflow.AllHandlersFinished(ctx)
	})
}

// FloorActivity does nothing: the floor's activity has an empty body.
func FloorActivity(context.Context) error { return nil }

// RegisterFloor starts a worker for the floor on c, with the product worker's
// options; stop it when done.
func RegisterFloor(c client.Client) (sdkworker.Worker, error) {
	w := sdkworker.New(c, FloorTaskQueue, worker.Options())
	w.RegisterWorkflow(FloorWorkflow)
	w.RegisterActivity(FloorActivity)
	return w, w.Start()
}

// FloorRoutes mounts the floor's endpoints: the same round trips a ticket's
// parties make, with nothing of ours behind them.
//
//	POST /bench/floor/{id}         update-with-start ("create")
//	POST /bench/floor/{id}/update  an update ("an agent's action")
//	POST /bench/floor/{id}/signal  a signal ("a webhook")
//	GET  /bench/floor/{id}/result  waits for the end
func FloorRoutes(e *echo.Echo, c client.Client) {
	wid := func(ctx echo.Context) string { return "floor-" + ctx.Param("id") }
	e.POST("/bench/floor/:id", func(ctx echo.Context) error {
		op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{ID: wid(ctx), TaskQueue: FloorTaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, FloorWorkflow, PickupReturnShape)
		h, err := c.UpdateWithStartWorkflow(ctx.Request().Context(), client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateName: "step", WaitForStage: client.WorkflowUpdateStageCompleted}})
		if err == nil {
			err = h.Get(ctx.Request().Context(), nil)
		}
		return answer(ctx, http.StatusCreated, err)
	})
	e.POST("/bench/floor/:id/update", func(ctx echo.Context) error {
		h, err := c.UpdateWorkflow(ctx.Request().Context(), client.UpdateWorkflowOptions{WorkflowID: wid(ctx),
			UpdateName: "step", WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx.Request().Context(), nil)
		}
		return answer(ctx, http.StatusOK, err)
	})
	e.POST("/bench/floor/:id/signal", func(ctx echo.Context) error {
		return answer(ctx, http.StatusAccepted, c.SignalWorkflow(ctx.Request().Context(), wid(ctx), "", "event", nil))
	})
	e.GET("/bench/floor/:id/result", func(ctx echo.Context) error {
		return answer(ctx, http.StatusOK, c.GetWorkflow(ctx.Request().Context(), wid(ctx), "").Get(ctx.Request().Context(), nil))
	})
}

func answer(ctx echo.Context, status int, err error) error {
	if err != nil {
		return ctx.JSON(http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	}
	return ctx.JSON(status, map[string]bool{"ok": true})
}
