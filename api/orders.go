package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// ShippingWatchRequest is the body of POST /v1/orders/{order_id}/shipping-watch.
type ShippingWatchRequest struct {
	ShopID       string    `json:"shop_id"`
	BuyerID      string    `json:"buyer_id"`
	PaidCents    int64     `json:"paid_cents"`
	Currency     string    `json:"currency"`
	PaidAt       time.Time `json:"paid_at"`
	SelfOperated bool      `json:"self_operated"`
}

func (r ShippingWatchRequest) validate() error {
	switch {
	case r.ShopID == "":
		return models.Errorf(models.EINVALID, "shop_id is required")
	case r.PaidCents <= 0:
		return models.Errorf(models.EINVALID, "paid_cents must be a positive number of cents")
	case r.PaidAt.IsZero():
		return models.Errorf(models.EINVALID, "paid_at is required (RFC 3339)")
	case len(r.Currency) != 3:
		return models.Errorf(models.EINVALID, "currency must be a 3-letter ISO code such as CNY")
	}
	return nil
}

// startShippingWatch starts the delayed-shipment watch of an order; starting it
// again returns the running watch.
func (s *Server) startShippingWatch(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	var req ShippingWatchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Currency == "" {
		req.Currency = "CNY"
	}
	if err := req.validate(); err != nil {
		return err
	}
	if _, err := shopScope(p, req.ShopID); err != nil {
		return err
	}
	orderID := c.Param("order_id")
	in := workflows.ShippingWatchInput{OrderID: orderID, ShopID: req.ShopID, BuyerID: req.BuyerID,
		PaidCents: req.PaidCents, Currency: req.Currency, PaidAt: req.PaidAt, SelfOperated: req.SelfOperated,
		ShipDeadline: s.policy.ShipDeadline, Rule: s.policy.ShippingCompensation}
	opts := client.StartWorkflowOptions{ID: workflows.ShippingWatchWorkflowID(orderID), TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}
	if _, err := s.temporal.ExecuteWorkflow(c.Request().Context(), opts, workflows.ShippingWatchWorkflow, in); err != nil {
		return domainError(err)
	}
	return s.respondWatch(c, http.StatusCreated)
}

func (s *Server) getShippingWatch(c echo.Context) error {
	if _, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin); err != nil {
		return err
	}
	return s.respondWatch(c, http.StatusOK)
}

// respondWatch answers with the watch: queried while it runs, its result once ended.
func (s *Server) respondWatch(c echo.Context, status int) error {
	ctx, p, orderID := c.Request().Context(), principal(c), c.Param("order_id")
	id := workflows.ShippingWatchWorkflowID(orderID)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
	} else if err != nil {
		return domainError(err)
	}
	var w workflows.ShippingWatch
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		v, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.QueryWatch)
		if err == nil {
			err = v.Get(&w)
		}
		if err != nil {
			return domainError(err)
		}
	} else if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &w); err != nil {
		return domainError(err)
	}
	if _, err := shopScope(p, w.ShopID); err != nil {
		return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s", orderID)
	}
	return c.JSON(status, w)
}

// orderShipped tells the watch the order shipped.
func (s *Server) orderShipped(c echo.Context) error {
	if _, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin); err != nil {
		return err
	}
	orderID := c.Param("order_id")
	err := s.temporal.SignalWorkflow(c.Request().Context(), workflows.ShippingWatchWorkflowID(orderID), "", workflows.SignalShipped, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) { // an ended watch just shows its result
		return domainError(err)
	}
	if err == nil {
		// The watch ends on the signal; wait briefly so the answer shows it.
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		defer cancel()
		_ = s.temporal.GetWorkflow(ctx, workflows.ShippingWatchWorkflowID(orderID), "").Get(ctx, nil)
	}
	return s.respondWatch(c, http.StatusOK)
}
