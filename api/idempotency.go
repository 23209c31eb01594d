package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// Idempotency (DESIGN §4, Stripe's semantics): an Idempotency-Key on a POST is the
// calling principal's; the first request under it runs and its answer is kept;
// the same key with the same request replays that answer (status and body); with
// another body or endpoint it is a 409; a request still running under it is a 409
// too, so concurrent repeats apply once.

const headerIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKey is DESIGN §4's limit on an Idempotency-Key.
const maxIdempotencyKey = 255

// idempotencyStale is how long a claimed key may go without an answer before a
// retry takes it over: longer than any request runs (app.UpdateWait and the
// server's write timeout), so a live request is never run twice at once.
const idempotencyStale = 2 * time.Minute

// IdempotencyStore keeps the answers (store.DB).
type IdempotencyStore interface {
	ClaimIdempotentRequest(ctx context.Context, principal, key, requestHash, ticketID string, stale time.Duration) (models.IdempotentRequest, error)
	FinishIdempotentRequest(ctx context.Context, principal, key string, status int, contentType string, body []byte) error
	ReleaseIdempotentRequest(ctx context.Context, principal, key string) error
	UnfinishIdempotentRequest(ctx context.Context, principal, key string) error
	PurgeIdempotentRequests(ctx context.Context, before time.Time) (int64, error)
}

// idempotencyClaim is the context key under which a handler finds its claim.
const idempotencyClaim = "aftersales.idempotency"

// claimedTicketID is the ticket id reserved under the request's Idempotency-Key,
// or "" when it has none: a create run again under a key makes the same ticket.
func claimedTicketID(c echo.Context) string {
	if cl, ok := c.Get(idempotencyClaim).(models.IdempotentRequest); ok {
		return cl.TicketID
	}
	return ""
}

// updateIDFor is the Temporal update id of a request under an Idempotency-Key:
// made by the server from the principal, the key and the request (never from a
// client's X-Request-ID), so a retry of an action is applied once by Temporal
// too, and another request under a reused key is never taken for it.
func updateIDFor(c echo.Context, p Principal) string {
	cl, ok := c.Get(idempotencyClaim).(models.IdempotentRequest)
	if !ok {
		return ""
	}
	k := c.Request().Header.Get(headerIdempotencyKey)
	sum := sha256.Sum256([]byte(principalScope(p) + "\x00" + k + "\x00" + cl.RequestHash))
	return "idem:" + hex.EncodeToString(sum[:])
}

// printableASCII: what a header value we store and pass on may hold.
func printableASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

func principalScope(p Principal) string { return p.Scope() }

// idempotent runs a POST under DESIGN §4's Idempotency-Key rules.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get(headerIdempotencyKey)
		if req.Method != http.MethodPost || key == "" {
			return next(c)
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return models.Errorf(models.EINVALID, "Idempotency-Key must be 1 to %d printable ASCII characters", maxIdempotencyKey)
		}
		raw, err := s.readBody(c)
		if err != nil {
			return err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		h := sha256.New()
		h.Write([]byte(req.Method + " " + req.URL.Path + "\n"))
		h.Write(raw)
		hash := hex.EncodeToString(h.Sum(nil))

		scope := principalScope(principal(c))
		claim, err := s.idem.ClaimIdempotentRequest(req.Context(), scope, key, hash, app.NewTicketID(s.now()), idempotencyStale)
		switch {
		case err != nil:
			return err
		case claim.RequestHash != hash:
			return models.Errorf(models.ECONFLICT, "Idempotency-Key %q was used for another request (another body or endpoint); use a new key for a new request", key)
		case !claim.New && claim.Status == 0:
			c.Response().Header().Set("Retry-After", "1")
			return models.Errorf(models.ECONFLICT, "a request with Idempotency-Key %q is still running; retry it in a moment", key)
		case !claim.New:
			c.Response().Header().Set("Idempotent-Replayed", "true")
			if etag := ticketETag(claim.Response); etag != "" {
				c.Response().Header().Set("ETag", etag) // a ticket answer, replayed: its seq as it was
			}
			return c.Blob(replayStatus(c, claim.Status), claim.ContentType, claim.Response)
		}
		c.Set(idempotencyClaim, claim)
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			s.handleError(err, c)
		}
		// A request that ran to an answer keeps it. One refused for its body or
		// its caller did nothing: the key is free for the corrected request. One
		// that ended without an answer (an outage, a hung-up client) may have
		// started its ticket: the same request's retry takes the claim over at
		// once, with the ticket id reserved first.
		ctx := context.WithoutCancel(req.Context())
		status := c.Response().Status
		switch {
		case kept(status):
			err = s.idem.FinishIdempotentRequest(ctx, scope, key, status, c.Response().Header().Get(echo.HeaderContentType), rec.body.Bytes())
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
			err = s.idem.ReleaseIdempotentRequest(ctx, scope, key)
		default:
			err = s.idem.UnfinishIdempotentRequest(ctx, scope, key)
		}
		if err != nil {
			s.log.Warn("idempotency key not recorded", "key", key, "error", err)
		}
		return nil
	}
}

// kept says whether an answer is replayed for the key: a success, or a refusal
// by the ticket (409), which the same request would meet again.
func kept(status int) bool {
	return (status >= 200 && status < 300) || status == http.StatusConflict
}

// replayStatus is the first answer's status, except that a repeated create
// answers 200 (DESIGN §4: "same body → same ticket, 200") with the first body.
func replayStatus(c echo.Context, status int) int {
	if status == http.StatusCreated && c.Path() == "/v1/tickets" {
		return http.StatusOK
	}
	return status
}

// recorder keeps a copy of what a handler writes.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
