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
	"go.temporal.io/sdk/converter"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// ShippingWatchRequest is the body of POST /v1/orders/{order_id}/shipping-watch.
type ShippingWatchRequest struct {
	ShopID       string    `json:"shop_id"`
	BuyerID      string    `json:"buyer_id"`
	PaidCents    int64     `json:"paid_cents"`
	Currency     string    `json:"currency,omitempty"`
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
	}
	if err := models.CheckCurrency("currency", r.Currency); err != nil {
		return err
	}
	if err := models.CheckID("shop_id", r.ShopID); err != nil {
		return err
	}
	return nil
}

// startShippingWatch starts the delayed-shipment watch of an order from its order
// record; starting it again returns the running watch. The watch belongs to the
// order's shop: another shop's seller gets 404. For an order not registered yet
// the body registers it, as PUT /v1/orders/{order_id} would.
func (s *Server) startShippingWatch(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	var req ShippingWatchRequest
	got, err := s.decodeSent(c, &req)
	if err != nil {
		return err
	}
	if err := refuseEmptyCurrency(got, req.Currency); err != nil {
		return err
	}
	ctx, orderID := c.Request().Context(), c.Param("order_id")
	if err := models.CheckID("order_id", orderID); err != nil {
		return err
	}
	rec, err := s.findOrder(ctx, orderID)
	switch {
	case err == nil:
		if _, err := shopScope(p, rec.ShopID); err != nil {
			return models.Errorf(models.ENOTFOUND, "order %s not found", orderID)
		}
	case models.ErrorCode(err) == models.ENOTFOUND:
		if req.Currency == "" {
			req.Currency = "CNY"
		}
		if err := req.validate(); err != nil {
			return models.Errorf(models.EINVALID, "order %s is not registered and the body cannot register it: %s", orderID, models.ErrorMessage(err))
		}
		if _, err := shopScope(p, req.ShopID); err != nil {
			return err
		}
		o := models.Order{OrderID: orderID, OrderFacts: models.OrderFacts{ShopID: req.ShopID, BuyerID: req.BuyerID,
			PaidCents: req.PaidCents, Currency: req.Currency, PaidAt: req.PaidAt, SelfOperated: req.SelfOperated}}
		o.Normalize()
		if err := o.ValidateAt(s.now()); err != nil {
			return err
		}
		if _, _, err := s.store.PutOrder(ctx, o, sellerShop(p)); err != nil {
			return err
		}
		rec = o
	default:
		return err
	}
	in := workflows.ShippingWatchInput{OrderID: orderID, ShopID: rec.ShopID, BuyerID: rec.BuyerID,
		PaidCents: rec.PaidCents, Currency: rec.Currency, PaidAt: rec.PaidAt, SelfOperated: rec.SelfOperated,
		ShipDeadline: s.policy.ShipDeadline, Rule: s.policy.ShippingCompensation}
	opts := client.StartWorkflowOptions{ID: workflows.ShippingWatchWorkflowID(orderID), TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                     map[string]any{watchShopMemo: rec.ShopID}}
	if _, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.ShippingWatchWorkflow, in); err != nil {
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
	w, _, err := s.loadWatch(c)
	if err != nil {
		return err
	}
	return c.JSON(status, w)
}

// loadWatch reads the order's watch, if the caller may see it, and whether it runs.
func (s *Server) loadWatch(c echo.Context) (workflows.ShippingWatch, bool, error) {
	ctx, p, orderID := c.Request().Context(), principal(c), c.Param("order_id")
	id := workflows.ShippingWatchWorkflowID(orderID)
	var w workflows.ShippingWatch
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return w, false, models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
	} else if err != nil {
		return w, false, domainError(err)
	}
	running := desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if running {
		v, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.QueryWatch)
		if err == nil {
			err = v.Get(&w)
		}
		if err != nil {
			return w, running, domainError(err)
		}
	} else if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &w); err != nil {
		return w, running, domainError(err)
	}
	if _, err := shopScope(p, w.ShopID); err != nil {
		return w, running, models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
	}
	// The watch ends once the compensation is handed to the provider; what the
	// provider answered later is in the ledger, which the payment webhook updates.
	if w.CompensationKey != "" {
		if row, err := s.store.GetRefund(ctx, w.CompensationKey); err == nil {
			w.PaymentStatus = row.Status
		}
	}
	return w, running, nil
}

// watchShopMemo is the memo key holding a watch's shop, so the shop can be checked
// from the server's own record of the run: that needs no worker, where a query does.
const watchShopMemo = "shop_id"

// orderShipped tells the watch the order shipped and answers with the watch as the
// signal left it. The caller's shop is checked before the signal, against the
// watch's memo (a query, for a watch started without one), and the signal is
// durable once sent, even with no worker running. A watch still waiting for the
// shipment ends on the signal, so the answer is its result: the handler waits for
// the run to end rather than a fixed time a loaded server can miss and then answer
// "watching". A watch that is paying compensation (its deadline passed) records the
// late shipment when it ends; its end can wait on the payment provider, so the wait
// is bounded by shippedWait and then the watch is answered as it stands.
func (s *Server) orderShipped(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	ctx, orderID := c.Request().Context(), c.Param("order_id")
	id := workflows.ShippingWatchWorkflowID(orderID)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
	} else if err != nil {
		return domainError(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	var shop string
	if f := info.GetMemo().GetFields()[watchShopMemo]; f != nil {
		if err := converter.GetDefaultDataConverter().FromPayload(f, &shop); err != nil {
			return err
		}
	} else if w, _, err := s.loadWatch(c); err != nil {
		return err
	} else {
		shop = w.ShopID
	}
	if _, err := shopScope(p, shop); err != nil {
		return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return s.respondWatch(c, http.StatusOK) // an ended watch just shows its result
	}
	err = s.temporal.SignalWorkflow(ctx, id, "", workflows.SignalShipped, nil)
	if err != nil && !errors.As(err, &nf) { // NotFound: it ended meanwhile; its result follows
		return domainError(err)
	}
	wctx, cancel := context.WithTimeout(ctx, shippedWait)
	defer cancel()
	var w workflows.ShippingWatch
	if err := s.temporal.GetWorkflow(wctx, id, "").Get(wctx, &w); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return s.respondWatch(c, http.StatusOK) // still paying: answer it as it stands
		}
		return domainError(err)
	}
	return c.JSON(http.StatusOK, w)
}

// shippedWait bounds how long orderShipped waits for the watch to end: a watch
// that ends on the signal does so in well under a second, and one that is paying
// compensation (its deadline passed as the signal came) is answered as it stands
// rather than holding the request for as long as the payment provider is down.
const shippedWait = time.Minute
