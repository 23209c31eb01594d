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
// order's shop (orderShop): another shop's seller gets 404. For an order not
// registered yet the body registers it, as PUT /v1/orders/{order_id} would.
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
	shop, err := orderShop(c, p, req.ShopID)
	if err != nil {
		return err
	}
	rec, err := s.findOrder(ctx, shop, orderID)
	switch {
	case err == nil:
	case models.ErrorCode(err) == models.ENOTFOUND:
		req.ShopID = shop
		if req.Currency == "" {
			req.Currency = "CNY"
		}
		if err := req.validate(); err != nil {
			return models.Errorf(models.EINVALID, "order %s is not registered and the body cannot register it: %s", orderID, models.ErrorMessage(err))
		}
		o := models.Order{OrderID: orderID, OrderFacts: models.OrderFacts{ShopID: req.ShopID, BuyerID: req.BuyerID,
			PaidCents: req.PaidCents, Currency: req.Currency, PaidAt: req.PaidAt, SelfOperated: req.SelfOperated}}
		o.Normalize()
		if err := o.ValidateAt(s.now()); err != nil {
			return err
		}
		if _, _, err := s.store.PutOrder(ctx, o); err != nil {
			return err
		}
		rec = o
	default:
		return err
	}
	id, err := s.watchID(ctx, shop, orderID)
	if err != nil {
		return err
	}
	if id == workflows.ShippingWatchWorkflowID(shop, orderID) {
		in := workflows.ShippingWatchInput{OrderID: orderID, ShopID: rec.ShopID, BuyerID: rec.BuyerID,
			PaidCents: rec.PaidCents, Currency: rec.Currency, PaidAt: rec.PaidAt, SelfOperated: rec.SelfOperated,
			ShipDeadline: s.policy.ShipDeadline, Rule: s.policy.ShippingCompensation, NamedByShop: true}
		opts := client.StartWorkflowOptions{ID: in.WorkflowID(), TaskQueue: workflows.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			Memo:                     map[string]any{watchShopMemo: rec.ShopID}}
		if _, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.ShippingWatchWorkflow, in); err != nil {
			return domainError(err)
		}
	}
	w, err := s.loadWatch(ctx, id, orderID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

// watchID is the workflow id of the shop's watch of an order: the one that
// names the shop, unless a watch started before orders were keyed by shop
// (its id names the order alone) belongs to this shop.
func (s *Server) watchID(ctx context.Context, shop, orderID string) (string, error) {
	id := workflows.ShippingWatchWorkflowID(shop, orderID)
	_, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if err == nil {
		return id, nil
	} else if !errors.As(err, &nf) {
		return id, domainError(err)
	}
	legacy := workflows.LegacyShippingWatchWorkflowID(orderID)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, legacy, "")
	if errors.As(err, &nf) {
		return id, nil
	} else if err != nil {
		return id, domainError(err)
	}
	var owner string
	if f := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[watchShopMemo]; f != nil {
		if err := converter.GetDefaultDataConverter().FromPayload(f, &owner); err != nil {
			return id, err
		}
	} else if w, err := s.loadWatch(ctx, legacy, orderID); err == nil {
		owner = w.ShopID
	} else if models.ErrorCode(err) != models.ENOTFOUND {
		return id, err
	}
	if owner == shop {
		return legacy, nil
	}
	return id, nil
}

func (s *Server) getShippingWatch(c echo.Context) error {
	w, err := s.shopWatch(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// shopWatch finds the watch of the order a request names (orderShop);
// ENOTFOUND when the shop has none. The watch's id names its shop (watchID),
// so another shop's watch is never found.
func (s *Server) shopWatch(c echo.Context) (workflows.ShippingWatch, error) {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return workflows.ShippingWatch{}, err
	}
	shop, err := orderShop(c, p, "")
	if err != nil {
		return workflows.ShippingWatch{}, err
	}
	ctx, orderID := c.Request().Context(), c.Param("order_id")
	id, err := s.watchID(ctx, shop, orderID)
	if err != nil {
		return workflows.ShippingWatch{}, err
	}
	return s.loadWatch(ctx, id, orderID)
}

func noWatch(orderID string) error {
	return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
}

// loadWatch reads the watch of workflow id: queried while it runs, its result
// once ended.
func (s *Server) loadWatch(ctx context.Context, id, orderID string) (workflows.ShippingWatch, error) {
	var w workflows.ShippingWatch
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return w, noWatch(orderID)
	} else if err != nil {
		return w, domainError(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		v, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.QueryWatch)
		if err == nil {
			err = v.Get(&w)
		}
		if err != nil {
			return w, domainError(err)
		}
	} else if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &w); err != nil {
		return w, domainError(err)
	}
	// The watch ends once the compensation is handed to the provider; what the
	// provider answered later is in the ledger, which the payment webhook updates.
	if w.CompensationKey != "" {
		if row, err := s.store.GetRefund(ctx, w.CompensationKey); err == nil {
			w.PaymentStatus = row.Status
		}
	}
	return w, nil
}

// watchShopMemo is the memo key holding a watch's shop, so the shop of a watch
// started before orders were keyed by shop can be checked from the server's own
// record of the run: that needs no worker, where a query does.
const watchShopMemo = "shop_id"

// orderShipped tells the watch the order shipped and answers with the watch as the
// signal left it. The signal is durable once sent, even with no worker running.
// A watch still waiting for the shipment ends on the signal, so the answer is
// its result: the handler waits for the run to end rather than a fixed time a
// loaded server can miss and then answer "watching". A watch that is paying
// compensation (its deadline passed) records the late shipment when it ends;
// its end can wait on the payment provider, so the wait is bounded by
// shippedWait and then the watch is answered as it stands.
func (s *Server) orderShipped(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	shop, err := orderShop(c, p, "")
	if err != nil {
		return err
	}
	ctx, orderID := c.Request().Context(), c.Param("order_id")
	id, err := s.watchID(ctx, shop, orderID)
	if err != nil {
		return err
	}
	// The id names the shop (or watchID found the shop in an older watch's
	// memo), so the signal needs no worker to check whose watch it is.
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return noWatch(orderID)
	} else if err != nil {
		return domainError(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		w, err := s.loadWatch(ctx, id, orderID) // an ended watch just shows its result
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, w)
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
			w, err = s.loadWatch(ctx, id, orderID) // still paying: answer it as it stands
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, w)
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
