// Package api is the HTTP face of the product: agents' actions, couriers' and payment
// providers' webhooks, reports. Handlers are thin: they authenticate, decode, and
// hand over to the ticket workflows (writes) or the read model (reads).
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

const bodyLimit = "1M"

// DefaultReadTimeout is how long Serve waits for a whole request, body included.
const DefaultReadTimeout = 30 * time.Second

// Store is the read model: what the commands use (app.Store), and the reads,
// reports and records the API answers from itself.
type Store interface {
	app.Store
	ListTickets(ctx context.Context, f models.TicketFilter) (models.TicketPage, error)
	SLAReport(ctx context.Context, f models.SLAFilter) (models.SLAReport, error)
	Warnings(ctx context.Context, shopID string, within time.Duration, now time.Time, limit int) (models.Warnings, error)
	Ping(ctx context.Context) error
	// ReceiveWebhookEvent records a webhook event, deduplicated by provider and
	// event id, before the ticket hears of it.
	ReceiveWebhookEvent(ctx context.Context, provider, eventID, bodyHash string, body []byte) (models.WebhookEvent, error)
	IdempotencyStore
	StatsSource
}

// Config wires a Server.
type Config struct {
	Temporal client.Client
	// Namespace is the Temporal namespace Temporal was dialled with ("default"
	// when empty): /readyz checks it has what the product needs.
	Namespace string
	Store     Store
	Keys      *Keys
	Policy    models.Policy
	// CourierWebhookKeys and PaymentWebhookKeys verify each provider's webhooks
	// (Standard Webhooks, whsec_ keys; several for rotation).
	CourierWebhookKeys webhook.Keys
	PaymentWebhookKeys webhook.Keys
	// Orders reads order records the store does not have from the shop's order
	// system; nil: only registered records (PUT /v1/orders/{id}) are known.
	Orders OrderSource
	// RateLimit and RateBurst bound each principal's requests (a second, and at
	// once); DefaultRateLimit and DefaultRateBurst when zero.
	RateLimit rate.Limit
	RateBurst int
	// Registry is where /metrics reads from; the Temporal SDK's metrics go there
	// too when the client was dialled with worker.PrometheusMetrics(Registry).
	// A registry of its own when nil.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// ReadTimeout bounds how long Serve waits for a whole request, its body
	// included (DefaultReadTimeout when zero); a body not in by then is a 408.
	ReadTimeout time.Duration
	// Now is the clock for webhook timestamps and reports; time.Now when nil.
	Now func() time.Time
}

// Server is the Echo application.
type Server struct {
	echo        *echo.Echo
	app         *app.App
	temporal    client.Client
	store       Store
	idem        IdempotencyStore
	keys        *Keys
	courierKeys webhook.Keys
	paymentKeys webhook.Keys
	log         *slog.Logger
	namespace   string
	setupReady  atomic.Bool // the namespace was seen ready (readyz)
	now         func() time.Time
	readTimeout time.Duration
	metrics     *metrics
	// addressLimit bounds what one client address sends before its key is known.
	addressLimit echo.MiddlewareFunc
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	s := &Server{temporal: cfg.Temporal, store: cfg.Store, idem: cfg.Store, keys: cfg.Keys,
		courierKeys: cfg.CourierWebhookKeys, paymentKeys: cfg.PaymentWebhookKeys, log: cfg.Logger, now: cfg.Now, metrics: newMetrics(cfg.Registry),
		readTimeout: cfg.ReadTimeout}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.namespace = cfg.Namespace; s.namespace == "" {
		s.namespace = "default"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.readTimeout <= 0 {
		s.readTimeout = DefaultReadTimeout
	}
	s.app = app.New(app.Config{Temporal: cfg.Temporal, Store: cfg.Store, Orders: cfg.Orders, Policy: cfg.Policy, Logger: s.log, Now: s.now})
	if err := s.metrics.registry.Register(newBusinessCollector(cfg.Store, s.log)); err != nil {
		s.log.Warn("metrics: business figures already registered", "error", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover(), middleware.BodyLimit(bodyLimit), saneRequestID, middleware.RequestID(), s.metrics.middleware, s.accessLog)
	s.echo = e
	limit, burst := cfg.RateLimit, cfg.RateBurst
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if burst <= 0 {
		burst = DefaultRateBurst
	}
	s.addressLimit = s.limiter(4*limit, 4*burst, func(c echo.Context) string { return "address " + c.RealIP() })
	s.routes(s.limiter(limit, burst, func(c echo.Context) string { return principalScope(principal(c)) }))
	return s
}

func (s *Server) routes(rateLimit echo.MiddlewareFunc) {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler)
	e.GET("/openapi.json", s.openAPI)

	e.POST("/v1/webhooks/courier", s.courierWebhook)
	e.POST("/v1/webhooks/payment", s.paymentWebhook)

	// Keys are guessed before they authenticate: a limit per client address
	// (several times a principal's) comes first.
	v1 := e.Group("/v1", s.addressLimit, s.authenticate, rateLimit, s.idempotent)
	v1.POST("/tickets", s.createTicket)
	v1.GET("/tickets", s.listTickets)
	v1.GET("/tickets/export.csv", s.exportCSV)
	v1.GET("/tickets/:id", s.getTicket)
	v1.POST("/tickets/:id/:action", s.ticketAction)
	v1.PUT("/orders/:order_id", s.putOrder)
	v1.GET("/orders/:order_id", s.getOrder)
	v1.PUT("/buyers/:buyer_id", s.putBuyer)
	v1.POST("/orders/:order_id/shipping-watch", s.startShippingWatch)
	v1.GET("/orders/:order_id/shipping-watch", s.getShippingWatch)
	v1.POST("/orders/:order_id/shipped", s.orderShipped)
	v1.GET("/reports/sla", s.slaReport)
	v1.GET("/reports/warnings", s.warningsReport)
}

// Handler returns the HTTP handler, for tests and for embedding extra routes.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router so the dev command can mount simulator endpoints.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Serve answers on l until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	// Reads are bounded so a slow client cannot hold a connection; the write
	// timeout outlasts app.UpdateWait, so a waiting action still gets its answer.
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.readTimeout,
		WriteTimeout: app.UpdateWait + 30*time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	go s.purgeIdempotency(ctx)
	go s.RunWebhookRelay(ctx, relayEvery)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// idempotencyKeep is how long the answers under Idempotency-Keys are kept
// (DESIGN §4: at least 7 days).
const idempotencyKeep = 8 * 24 * time.Hour

// purgeIdempotency deletes older answers every hour until ctx ends; several API
// processes purging at once delete the same rows, harmlessly.
func (s *Server) purgeIdempotency(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.idem.PurgeIdempotentRequests(ctx, s.now().Add(-idempotencyKeep)); err != nil && ctx.Err() == nil {
			s.log.Warn("idempotency purge failed", "error", err)
		} else if n > 0 {
			s.log.Info("idempotency answers purged", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
