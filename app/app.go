// Package app is the application layer: the product's commands (open a
// ticket, act on it, register an order, watch its shipment, take a provider's
// event) as methods that take plain structs and return domain values. It reads
// and writes through the read model and Temporal and knows no HTTP: the API
// decodes a request, authenticates its principal, calls a command and encodes
// the answer. Every error a command returns is a *models.Error (DomainError).
package app

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/models"
)

// Store is the read model the commands read and write (store.DB).
type Store interface {
	GetTicket(ctx context.Context, id string) (models.Ticket, error)
	GetTicketHead(ctx context.Context, id string) (models.Ticket, error) // without the timeline
	// SaveTicket writes a ticket's projection (a row with an older seq never
	// replaces a newer one): a create writes its ticket itself.
	SaveTicket(ctx context.Context, t models.Ticket) error
	ClaimIdempotencyKey(ctx context.Context, scope, key, bodyHash, ticketID string) (models.IdempotencyClaim, error)
	// ReleaseIdempotencyKey frees a key claimed for ticketID by a create that was
	// then refused (store.DB.ReleaseIdempotencyKey).
	ReleaseIdempotencyKey(ctx context.Context, scope, key, ticketID string) error
	// Order records and buyer risk (DESIGN §2 Trust). An order is (shop, order id).
	PutOrder(ctx context.Context, o models.Order) (models.Order, bool, error)
	GetOrder(ctx context.Context, shopID, orderID string) (models.Order, error)
	Order(ctx context.Context, shopID, orderID string) (models.Order, error) // the record alone
	PutBuyer(ctx context.Context, b models.Buyer) (models.Buyer, error)
	GetBuyer(ctx context.Context, id string) (models.Buyer, bool, error)
	RecentReturns(ctx context.Context, buyerID string, since time.Time) (int, error)
	// HoldUnits records the units a ticket returns against its order's lines,
	// refusing with ECONFLICT what other tickets hold (store.DB.HoldUnits);
	// ReleaseUnits gives back those of a ticket that never started.
	HoldUnits(ctx context.Context, shopID, orderID, ticketID string, lines []models.Item, now time.Time) error
	ReleaseUnits(ctx context.Context, ticketID string) error
	// AssignRMA gives a ticket its shop's next RMA number, once (store.DB.AssignRMA).
	AssignRMA(ctx context.Context, shopID, ticketID string) (string, error)
	// The refunds ledger, which records a payment provider's answer before the
	// ticket hears of it, and the webhook events received.
	MarkRefund(ctx context.Context, key string, status models.MoneyStatus, providerRef string) (models.RefundRow, error)
	GetRefund(ctx context.Context, key string) (models.RefundRow, error)
	// OrderLineRefunds is the ledger's net refunded per line of an order.
	OrderLineRefunds(ctx context.Context, shopID, orderID string) (map[string]int64, error)
	MarkWebhookDelivered(ctx context.Context, provider, eventID string) error
	PendingWebhookEvents(ctx context.Context, before time.Time, limit int) ([]models.PendingWebhookEvent, error)
	// ParcelWorkflow names the workflow that subscribed a self-shipped parcel;
	// ENOTFOUND when none did.
	ParcelWorkflow(ctx context.Context, carrier, trackingNo string) (string, error)
}

// OrderSource reads an order record that the store does not have yet: the shop's
// order system (activities/ordersource.HTTP). ENOTFOUND when the shop does not
// know the order either.
type OrderSource interface {
	Order(ctx context.Context, shopID, orderID string) (models.Order, error)
}

// Config wires an App.
type Config struct {
	Temporal client.Client
	Store    Store
	// Orders reads order records the store does not have from the shop's order
	// system; nil: only registered records are known.
	Orders OrderSource
	Policy models.Policy
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// App runs the commands.
type App struct {
	temporal client.Client
	store    Store
	orders   OrderSource
	policy   models.Policy
	log      *slog.Logger
	now      func() time.Time
}

// New builds an App.
func New(cfg Config) *App {
	a := &App{temporal: cfg.Temporal, store: cfg.Store, orders: cfg.Orders, policy: cfg.Policy, log: cfg.Logger, now: cfg.Now}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Policy is the policy new tickets start under.
func (a *App) Policy() models.Policy { return a.policy }
