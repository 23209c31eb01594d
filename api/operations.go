package api

import (
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/aftersales/aftersales/models"
)

// Defaults for the per-principal rate limit (Config.RateLimit, Config.RateBurst).
const (
	DefaultRateLimit = 50  // requests a second, sustained
	DefaultRateBurst = 100 // requests at once
)

// limiter refuses a caller's requests over its rate with a 429 and a Retry-After
// of the seconds one more request needs; who names the caller (a principal, or
// a client address before authentication). It uses Echo's rate-limiter
// middleware (golang.org/x/time/rate token buckets, one per caller, dropped
// after 3 idle minutes); the limit holds per API process.
func (s *Server) limiter(limit rate.Limit, burst int, who func(echo.Context) string) echo.MiddlewareFunc {
	retryAfter := strconv.Itoa(int(math.Ceil(1 / float64(limit))))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: limit, Burst: burst, ExpiresIn: 3 * time.Minute}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return who(c), nil },
		DenyHandler: func(c echo.Context, who string, _ error) error {
			s.metrics.rateLimited.Inc()
			c.Response().Header().Set("Retry-After", retryAfter)
			return models.Errorf(models.ETOOMANY, "more than %g requests a second from %s; slow down and retry after %s s", float64(limit), who, retryAfter)
		},
	})
}

// maxRequestID is the longest X-Request-ID echoed and recorded in the audit
// trail (ticket_events.request_id); a longer or unprintable one is replaced by
// ours.
const maxRequestID = 128

// saneRequestID drops a client's X-Request-ID that the audit trail cannot keep,
// before middleware.RequestID echoes it (or makes one).
func saneRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if v := h.Get(echo.HeaderXRequestID); len(v) > maxRequestID || !printableASCII(v) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// accessLog writes one structured line per request: method, route, status,
// duration, the request id (the client's X-Request-ID, echoed, or ours) and the
// principal, never the key.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		p := principal(c)
		s.log.Info("request", "method", c.Request().Method, "route", c.Path(), "status", c.Response().Status,
			"ms", time.Since(start).Milliseconds(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"principal", principalScope(p))
		return nil
	}
}
