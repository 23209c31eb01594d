package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/worker"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database and Temporal both answer. It says
// which is down, never why: the reason (addresses, drivers' messages) goes to
// the log, not to anyone who asks.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "temporal": "ok"}
	ready := true
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readyz: database does not answer", "error", err)
		checks["database"], ready = "unavailable", false
	}
	if _, err := s.temporal.CheckHealth(ctx, nil); err != nil {
		s.log.Warn("readyz: Temporal does not answer", "error", err)
		checks["temporal"], ready = "unavailable", false
	} else if missing, err := s.temporalSetup(ctx); err != nil {
		s.log.Warn("readyz: Temporal's namespace could not be read", "error", err)
		checks["temporal"], ready = "unavailable", false
	} else if len(missing) > 0 {
		// A cluster nobody set up refuses every create: say what to register.
		checks["temporal"], ready = "missing "+strings.Join(missing, ", ")+": run aftersales temporal-setup", false
	}
	if !ready {
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

// temporalSetup names what the namespace lacks (worker.MissingSetup). A
// namespace found ready stays ready: registrations are not taken back, so it is
// asked again only until then.
func (s *Server) temporalSetup(ctx context.Context) ([]string, error) {
	if s.setupReady.Load() {
		return nil, nil
	}
	missing, err := worker.MissingSetup(ctx, s.temporal, s.namespace)
	if err == nil && len(missing) == 0 {
		s.setupReady.Store(true)
	}
	return missing, err
}

// metrics counts requests by route and status for Prometheus, webhook events by
// provider, type and outcome, and exports the read model's business figures.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	rateLimited prometheus.Counter
	webhooks    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftersales_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aftersales_http_request_seconds", Help: "HTTP request latency by route.",
		}, []string{"method", "route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aftersales_http_rate_limited_total", Help: "Requests refused with 429 over a principal's rate limit.",
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftersales_webhook_events_total", Help: "Webhook events by provider, event type or status, and outcome.",
		}, []string{"provider", "type", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.rateLimited, m.webhooks)
	return m
}

// statsMaxAge is how old the business figures on /metrics may be.
const statsMaxAge = 10 * time.Second

// StatsSource is what the business collector reads (store.DB.Stats).
type StatsSource interface {
	Stats(ctx context.Context) (models.Stats, error)
}

// businessCollector exports the read model's figures at scrape time, read at
// most every statsMaxAge: a scrape of /metrics (open to anyone) never costs the
// database more than that.
type businessCollector struct {
	mu       sync.Mutex
	read     time.Time
	last     models.Stats
	src      StatsSource
	log      interface{ Warn(string, ...any) }
	tickets  *prometheus.Desc
	refunds  *prometheus.Desc
	cents    *prometheus.Desc
	breaches *prometheus.Desc
	escal    *prometheus.Desc
}

func newBusinessCollector(src StatsSource, log interface{ Warn(string, ...any) }) *businessCollector {
	return &businessCollector{src: src, log: log,
		tickets:  prometheus.NewDesc("aftersales_tickets", "Tickets by state and kind.", []string{"state", "kind"}, nil),
		refunds:  prometheus.NewDesc("aftersales_money_movements", "Ledger keys by purpose and status.", []string{"purpose", "status"}, nil),
		cents:    prometheus.NewDesc("aftersales_money_movements_cents", "Ledger amounts by purpose and status, in cents.", []string{"purpose", "status"}, nil),
		breaches: prometheus.NewDesc("aftersales_seller_breaches", "Tickets whose seller missed refund_by.", nil, nil),
		escal:    prometheus.NewDesc("aftersales_escalated_tickets", "Tickets escalated to the platform.", nil, nil),
	}
}

func (b *businessCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{b.tickets, b.refunds, b.cents, b.breaches, b.escal} {
		ch <- d
	}
}

func (b *businessCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.read) > statsMaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		st, err := b.src.Stats(ctx)
		cancel()
		if err != nil {
			b.log.Warn("metrics: business figures not read", "error", err)
			return
		}
		b.last, b.read = st, time.Now()
	}
	st := b.last
	for _, t := range st.Tickets {
		ch <- prometheus.MustNewConstMetric(b.tickets, prometheus.GaugeValue, float64(t.N), t.State, t.Kind)
	}
	for _, r := range st.Refunds {
		ch <- prometheus.MustNewConstMetric(b.refunds, prometheus.GaugeValue, float64(r.N), r.Purpose, r.Status)
		ch <- prometheus.MustNewConstMetric(b.cents, prometheus.GaugeValue, float64(r.Cents), r.Purpose, r.Status)
	}
	ch <- prometheus.MustNewConstMetric(b.breaches, prometheus.GaugeValue, float64(st.Breaches))
	ch <- prometheus.MustNewConstMetric(b.escal, prometheus.GaugeValue, float64(st.Escalated))
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the response now so its status is counted
		}
		route := c.Path() // the route's pattern, or "" for no route: bounded either way
		status := c.Response().Status
		method := boundedMethod(c.Request().Method)
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// boundedMethod keeps a client's method from becoming a label value of its own.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
		return m
	}
	return "other"
}

func (m *metrics) handler(c echo.Context) error {
	promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
