package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// ShippingWatchInput starts the delayed-shipment watch of one paid order.
type ShippingWatchInput struct {
	OrderID      string                  `json:"order_id"`
	ShopID       string                  `json:"shop_id"`
	BuyerID      string                  `json:"buyer_id"`
	PaidCents    int64                   `json:"paid_cents"`
	Currency     string                  `json:"currency"`
	PaidAt       time.Time               `json:"paid_at"`
	SelfOperated bool                    `json:"self_operated"`
	ShipDeadline models.Duration         `json:"ship_deadline"`
	Rule         models.CompensationRule `json:"rule"`
	// NamedByShop: the watch's workflow id and its compensation keys name the
	// order's shop (models.OrderName). False for a watch started before orders
	// were keyed by shop, which keeps the names it started with.
	NamedByShop bool `json:"named_by_shop,omitempty"`
}

// WorkflowID is the workflow id of the watch in names.
func (in ShippingWatchInput) WorkflowID() string {
	if in.NamedByShop {
		return ShippingWatchWorkflowID(in.ShopID, in.OrderID)
	}
	return LegacyShippingWatchWorkflowID(in.OrderID)
}

// compensationKey is the key of the watch's nth compensation payment,
// "order-<order id>@<shop id>:compensation:<n>": one order's, whichever shops
// number their orders alike; "order-<order id>:compensation:<n>" for a watch
// started before orders were keyed by shop. It follows from the input alone,
// so a replay names the keys the run paid under.
func (in ShippingWatchInput) compensationKey(n int) string {
	name := in.OrderID
	if in.NamedByShop {
		name = models.OrderName(in.ShopID, in.OrderID)
	}
	return fmt.Sprintf("order-%s:compensation:%d", name, n)
}

// Shipping watch states.
const (
	WatchWatching     = "watching"
	WatchShipped      = "shipped"
	WatchCompensating = "compensating" // the deadline passed; the payment is under way
	WatchCompensated  = "compensated"  // the provider confirmed the payment
)

// ShippingWatch is the watch as GET /v1/orders/{id}/shipping-watch shows it.
type ShippingWatch struct {
	OrderID           string             `json:"order_id"`
	ShopID            string             `json:"shop_id"`
	State             string             `json:"state"`
	ShipBy            time.Time          `json:"ship_by"`
	ShippedAt         *time.Time         `json:"shipped_at,omitempty"`
	CompensationCents int64              `json:"compensation_cents"`
	CompensationKey   string             `json:"compensation_key,omitempty"`
	PaymentStatus     models.MoneyStatus `json:"payment_status,omitempty"`
	Currency          string             `json:"currency"`
}

// ShippingWatchWorkflow compensates the buyer once (延迟发货赔付) when the order is not
// shipped by ship_deadline after payment: 30 % of the paid amount capped at 500 CNY,
// or a flat 5 CNY for self-operated shops (by the policy's rule).
func ShippingWatchWorkflow(ctx workflow.Context, in ShippingWatchInput) (ShippingWatch, error) {
	s := ShippingWatch{OrderID: in.OrderID, ShopID: in.ShopID, State: WatchWatching,
		ShipBy: in.PaidAt.Add(in.ShipDeadline.D()), Currency: in.Currency}
	if err := workflow.SetQueryHandler(ctx, QueryWatch, func() (ShippingWatch, error) { return s, nil }); err != nil {
		return s, err
	}
	shipped := workflow.GetSignalChannel(ctx, SignalShipped)
	wait := s.ShipBy.Sub(workflow.Now(ctx))
	got := false
	if wait > 0 {
		got, _ = workflow.AwaitWithTimeout(ctx, wait, func() bool { return shipped.ReceiveAsync(nil) })
	} else {
		got = shipped.ReceiveAsync(nil)
	}
	if got {
		now := workflow.Now(ctx)
		s.State, s.ShippedAt = WatchShipped, &now
		return s, nil
	}

	s.CompensationCents = models.ShippingCompensation(in.PaidCents, in.SelfOperated, in.Rule)
	if s.CompensationCents <= 0 {
		s.State = WatchCompensated
		// A 0 % (or 0 cap) rule, or an order of a few cents: nothing to pay. The
		// ledger refuses empty movements, which would fail the whole watch.
		return s, nil
	}
	if workflow.GetVersion(ctx, compensationChange, workflow.DefaultVersion, 1) == 1 {
		err := settleCompensation(ctx, in, &s)
		// A late "shipped" still gets recorded, but compensation stands.
		if shipped.ReceiveAsync(nil) {
			now := workflow.Now(ctx)
			s.ShippedAt = &now
		}
		return s, err
	}
	s.State, s.CompensationKey = WatchCompensating, in.compensationKey(1)
	req := activities.MoneyRequest{Key: s.CompensationKey, Purpose: models.PurposeCompensate,
		TicketID: in.WorkflowID(), ShopID: in.ShopID, OrderID: in.OrderID,
		AmountCents: s.CompensationCents, Currency: in.Currency, PaidCents: in.PaidCents}
	var r activities.Receipt
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	if err := workflow.ExecuteActivity(actx, acts.MoveMoney, req).Get(actx, &r); err != nil {
		return s, err
	}
	s.State, s.PaymentStatus = WatchCompensated, r.Status
	// A late "shipped" still gets recorded, but compensation stands.
	if shipped.ReceiveAsync(nil) {
		now := workflow.Now(ctx)
		s.ShippedAt = &now
	}
	return s, nil
}

// providerOptions: the compensation is the watch's only step, so its call retries
// until the provider answers, backing off to 10 s so a provider that recovers is
// used again soon.
var providerOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Second, NonRetryableErrorTypes: []string{models.ECONFLICT, models.EINVALID}},
}
