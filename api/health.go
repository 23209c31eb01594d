package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	}
	if !ready {
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

// metrics counts requests by route and status for Prometheus.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	rateLimited prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftersales_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aftersales_http_request_seconds", Help: "HTTP request latency by route.",
		}, []string{"method", "route"}),
	}
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "aftersales_http_rate_limited_total", Help: "Requests refused with 429 over a principal's rate limit.",
	})
	m.registry.MustRegister(m.requests, m.latency, m.rateLimited)
	return m
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
