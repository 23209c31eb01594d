package app

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// ShippingWatchRequest is what a watch's start may say of an order no one has
// registered: the body of POST /v1/orders/{order_id}/shipping-watch.
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

// StartShippingWatch starts the delayed-shipment watch of an order from its
// order record; starting it again answers with the watch there is. The watch
// belongs to the order's shop (OrderShop): another shop's seller gets the
// answer for an unknown order. For an order not registered yet, body registers
// it as PutOrder would.
func (a *App) StartShippingWatch(ctx context.Context, p models.Principal, ref OrderRef, body ShippingWatchRequest, sent Sent) (workflows.ShippingWatch, error) {
	var none workflows.ShippingWatch
	if err := RefuseEmptyCurrency(sent, body.Currency); err != nil {
		return none, err
	}
	orderID := ref.OrderID
	shop, err := OrderShop(p, ref)
	if err != nil {
		return none, err
	}
	rec, err := a.findOrder(ctx, shop, orderID)
	switch {
	case err == nil:
	case models.ErrorCode(err) == models.ENOTFOUND:
		body.ShopID = shop
		if body.Currency == "" {
			body.Currency = "CNY"
		}
		if err := body.validate(); err != nil {
			return none, models.Errorf(models.EINVALID, "order %s is not registered and the body cannot register it: %s", orderID, models.ErrorMessage(err))
		}
		o := models.Order{OrderID: orderID, OrderFacts: models.OrderFacts{ShopID: body.ShopID, BuyerID: body.BuyerID,
			PaidCents: body.PaidCents, Currency: body.Currency, PaidAt: body.PaidAt, SelfOperated: body.SelfOperated}}
		o.Normalize()
		if err := o.ValidateAt(a.now()); err != nil {
			return none, err
		}
		if _, _, err := a.store.PutOrder(ctx, o); err != nil {
			return none, err
		}
		rec = o
	default:
		return none, err
	}
	id, err := a.watchID(ctx, shop, orderID)
	if err != nil {
		return none, err
	}
	if id == workflows.ShippingWatchWorkflowID(shop, orderID) {
		in := workflows.ShippingWatchInput{OrderID: orderID, ShopID: rec.ShopID, BuyerID: rec.BuyerID,
			PaidCents: rec.PaidCents, Currency: rec.Currency, PaidAt: rec.PaidAt, SelfOperated: rec.SelfOperated,
			ShipDeadline: a.policy.ShipDeadline, Rule: a.policy.ShippingCompensation, NamedByShop: true}
		opts := client.StartWorkflowOptions{ID: in.WorkflowID(), TaskQueue: workflows.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			Memo:                     map[string]any{watchShopMemo: rec.ShopID}}
		if _, err := a.temporal.ExecuteWorkflow(ctx, opts, workflows.ShippingWatchWorkflow, in); err != nil {
			return none, DomainError(err)
		}
	}
	return a.loadWatch(ctx, id, orderID)
}

// watchID is the workflow id of the shop's watch of an order: the one that
// names the shop, unless a watch started before orders were keyed by shop
// (its id names the order alone) belongs to this shop.
func (a *App) watchID(ctx context.Context, shop, orderID string) (string, error) {
	id := workflows.ShippingWatchWorkflowID(shop, orderID)
	_, err := a.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if err == nil {
		return id, nil
	} else if !errors.As(err, &nf) {
		return id, DomainError(err)
	}
	legacy := workflows.LegacyShippingWatchWorkflowID(orderID)
	desc, err := a.temporal.DescribeWorkflowExecution(ctx, legacy, "")
	if errors.As(err, &nf) {
		return id, nil
	} else if err != nil {
		return id, DomainError(err)
	}
	var owner string
	if f := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[watchShopMemo]; f != nil {
		if err := converter.GetDefaultDataConverter().FromPayload(f, &owner); err != nil {
			return id, err
		}
	} else if w, err := a.loadWatch(ctx, legacy, orderID); err == nil {
		owner = w.ShopID
	} // else its owner cannot be told now: it is not taken for this shop's, and
	// another shop's request is not blocked by it.
	if owner == shop {
		return legacy, nil
	}
	return id, nil
}

// ShippingWatch answers the watch of the order ref names (OrderShop);
// ENOTFOUND when its shop has none. The watch's id names its shop (watchID),
// so another shop's watch is never found.
func (a *App) ShippingWatch(ctx context.Context, p models.Principal, ref OrderRef) (workflows.ShippingWatch, error) {
	shop, err := OrderShop(p, ref)
	if err != nil {
		return workflows.ShippingWatch{}, err
	}
	id, err := a.watchID(ctx, shop, ref.OrderID)
	if err != nil {
		return workflows.ShippingWatch{}, err
	}
	return a.loadWatch(ctx, id, ref.OrderID)
}

func noWatch(orderID string) error {
	return models.Errorf(models.ENOTFOUND, "no shipping watch for order %s; start one with POST", orderID)
}

// loadWatch reads the watch of workflow id: queried while it runs, its result
// once ended.
func (a *App) loadWatch(ctx context.Context, id, orderID string) (workflows.ShippingWatch, error) {
	var w workflows.ShippingWatch
	desc, err := a.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return w, noWatch(orderID)
	} else if err != nil {
		return w, DomainError(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		v, err := a.temporal.QueryWorkflow(ctx, id, "", workflows.QueryWatch)
		if err == nil {
			err = v.Get(&w)
		}
		if err != nil {
			return w, DomainError(err)
		}
	} else if err := a.temporal.GetWorkflow(ctx, id, "").Get(ctx, &w); err != nil {
		return w, DomainError(err)
	}
	// The watch ends once the compensation is handed to the provider; what the
	// provider answered later is in the ledger, which the payment webhook updates.
	if w.CompensationKey != "" {
		if row, err := a.store.GetRefund(ctx, w.CompensationKey); err == nil {
			w.PaymentStatus = row.Status
		}
	}
	return w, nil
}

// watchShopMemo is the memo key holding a watch's shop, so the shop of a watch
// started before orders were keyed by shop can be checked from the server's own
// record of the run: that needs no worker, where a query does.
const watchShopMemo = "shop_id"

// OrderShipped tells the watch of the order ref names that the order shipped,
// and answers with the watch as the signal left it. The signal is durable once
// sent, even with no worker running. A watch still waiting for the shipment
// ends on the signal, so the answer is its result: the command waits for the
// run to end rather than a fixed time a loaded server can miss and then answer
// "watching". A watch that is paying compensation (its deadline passed)
// records the late shipment when it ends; its end can wait on the payment
// provider, so the wait is bounded by shippedWait and then the watch is
// answered as it stands.
func (a *App) OrderShipped(ctx context.Context, p models.Principal, ref OrderRef) (workflows.ShippingWatch, error) {
	var w workflows.ShippingWatch
	shop, err := OrderShop(p, ref)
	if err != nil {
		return w, err
	}
	id, err := a.watchID(ctx, shop, ref.OrderID)
	if err != nil {
		return w, err
	}
	// The id names the shop (or watchID found the shop in an older watch's
	// memo), so the signal needs no worker to check whose watch it is.
	desc, err := a.temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return w, noWatch(ref.OrderID)
	} else if err != nil {
		return w, DomainError(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return a.loadWatch(ctx, id, ref.OrderID) // an ended watch just shows its result
	}
	err = a.temporal.SignalWorkflow(ctx, id, "", workflows.SignalShipped, nil)
	if err != nil && !errors.As(err, &nf) { // NotFound: it ended meanwhile; its result follows
		return w, DomainError(err)
	}
	wctx, cancel := context.WithTimeout(ctx, shippedWait)
	defer cancel()
	if err := a.temporal.GetWorkflow(wctx, id, "").Get(wctx, &w); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return a.loadWatch(ctx, id, ref.OrderID) // still paying: answer it as it stands
		}
		return w, DomainError(err)
	}
	return w, nil
}

// shippedWait bounds how long OrderShipped waits for the watch to end: a watch
// that ends on the signal does so in well under a second, and one that is paying
// compensation (its deadline passed as the signal came) is answered as it stands
// rather than holding the request for as long as the payment provider is down.
const shippedWait = time.Minute
