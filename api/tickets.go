package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/workflows"
)

// createTicket starts a ticket workflow. With an Idempotency-Key header (or an
// external_id) the same body returns the same ticket with 200, another body 409.
func (s *Server) createTicket(c echo.Context) error {
	p, err := allow(c, models.RoleBuyer, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	var req models.CreateTicket
	got, err := s.decodeSent(c, &req)
	if err != nil {
		return err
	}
	if err := refuseEmpty(got, req); err != nil {
		return err
	}
	req.Normalize()
	for _, f := range []struct{ name, v string }{{"order_id", req.OrderID}, {"shop_id", req.ShopID}, {"buyer_id", req.BuyerID}} {
		if err := models.CheckID(f.name, f.v); err != nil {
			return err
		}
	}
	if err := models.CheckCurrency("currency", req.Currency); err != nil {
		return err
	}
	if (p.Role == models.RoleBuyer && p.Subject != req.BuyerID) || (p.Role == models.RoleSeller && p.Subject != req.ShopID) {
		return models.Errorf(models.EFORBIDDEN, "a %s key may create tickets only for its own %s", p.Role, map[models.Role]string{models.RoleBuyer: "buyer_id", models.RoleSeller: "shop_id"}[p.Role])
	}
	ctx := c.Request().Context()
	// The request as the client sent it (normalized) is what a repeat must match:
	// the facts filled in below change as tickets come (recent returns).
	bodyHash := createHash(req)
	flagged, err := s.trustInputs(ctx, p, &req, got)
	if err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}

	// Under an Idempotency-Key the id was reserved with the key (the middleware
	// replays a finished create). An external_id is the shop's own reference for
	// the case, idempotent across the shop's seller and the platform; a buyer's
	// is the buyer's own, so a buyer cannot take a shop's reference first.
	id := claimedTicketID(c)
	if id == "" {
		id = newTicketID(s.now())
	}
	status := http.StatusCreated
	if req.ExternalID != "" {
		scope := "external_id:" + req.ShopID
		if p.Role == models.RoleBuyer {
			scope = "external_id:" + principalScope(p)
		}
		claim, err := s.store.ClaimIdempotencyKey(ctx, scope, req.ExternalID, bodyHash, id)
		if err != nil {
			return err
		}
		if claim.BodyHash != bodyHash {
			return models.Errorf(models.ECONFLICT, "external_id %q was already used for another ticket of shop %s with a different body; use a new external_id for a new case", req.ExternalID, req.ShopID)
		}
		if !claim.New {
			id, status = claim.TicketID, http.StatusOK
			if t, err := s.store.GetTicket(ctx, id); err == nil && t.State.Terminal() {
				return writeTicket(c, status, p, t)
			}
		}
	}
	createdAt := s.now().UTC().Truncate(time.Millisecond)
	in := workflows.TicketInput{TicketID: id, Create: req, Policy: s.policy, BodyHash: bodyHash, BuyerFlagged: flagged,
		Actor: p.Subject, Role: p.Role, RequestID: c.Response().Header().Get(echo.HeaderXRequestID), CreatedAt: createdAt}
	t, err := s.startTicket(c, in)
	if err != nil {
		return err
	}
	return writeTicket(c, status, p, t)
}

// refuseEmpty refuses a currency or an external_id sent empty or null: left
// out, the currency is CNY and the create has no external_id; sent, each must
// be a real one (DESIGN §4 Limits).
func refuseEmpty(got sent, req models.CreateTicket) error {
	if err := refuseEmptyCurrency(got, req.Currency); err != nil {
		return err
	}
	if got["external_id"] {
		return models.CheckID("external_id", req.ExternalID)
	}
	return nil
}

// refuseEmptyCurrency refuses a currency sent empty or null; left out, it is CNY.
func refuseEmptyCurrency(got sent, currency string) error {
	if got["currency"] && strings.TrimSpace(currency) == "" {
		return models.Errorf(models.EINVALID, "currency is empty; send an ISO 4217 code such as CNY, or leave currency out for CNY")
	}
	return nil
}

// startTicket starts the ticket's workflow and writes its creation to the read
// model itself: the created ticket is a pure function of the input
// (workflows.CreatedTicket), so the answer waits for no workflow task. A start
// that finds the ticket's workflow (a retry after a request that ended
// unanswered), or a write that failed, asks the run to write the creation and
// waits for it (syncTicket).
func (s *Server) startTicket(c echo.Context, in workflows.TicketInput) (models.Ticket, error) {
	// Once started, the ticket is written whether or not the client waits for
	// the answer: until then the read model (lists, GET, actions) lacks it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), updateWait)
	defer cancel()
	in.CreationProjected = true
	created, err := workflows.CreatedTicket(in)
	if err != nil {
		return created, err
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflows.TicketWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return s.syncTicket(ctx, in.TicketID)
	case err != nil:
		return created, domainError(err)
	}
	if err := s.store.SaveTicket(ctx, created); err != nil {
		return s.syncTicket(ctx, in.TicketID)
	}
	if stored, err := s.store.GetTicket(ctx, in.TicketID); err == nil {
		return stored, nil
	}
	return created, nil // written a moment ago: a read-model blip answers with what was written
}

// syncTicket asks the ticket's run to write what the read model may lack
// (workflows.UpdateSync, one update id per ticket) and answers with the ticket
// as GET shows it. A run that has ended answers from the read model.
func (s *Server) syncTicket(ctx context.Context, id string) (models.Ticket, error) {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.TicketWorkflowID(id), UpdateName: workflows.UpdateSync, UpdateID: "create:" + id,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var t models.Ticket
	if err == nil {
		err = h.Get(ctx, &t)
	}
	stored, serr := s.store.GetTicket(ctx, id)
	switch {
	case serr == nil:
		return stored, nil
	case err == nil:
		return t, nil // a read-model blip: the run's ticket, without its timeline
	case models.ErrorCode(serr) != models.ENOTFOUND:
		return t, serr // neither answered: the database's 503, not the run's end
	}
	return t, domainError(err)
}

// updateWait bounds how long a request waits on its ticket's update: past it the
// client gets a 503 and retries with its Idempotency-Key, which finds the update
// Temporal already has. It stays below idempotencyStale.
const updateWait = 60 * time.Second

// newTicketID returns an id that sorts by day and is unguessable: AS20261123XXXXXXXXXX.
func newTicketID(now time.Time) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "AS" + now.UTC().Format("20060102") + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:12]
}

// visibleTicket loads a ticket from the read model if the caller is one of its
// parties; with its timeline, or (head) without.
func (s *Server) visibleTicket(c echo.Context, head ...bool) (models.Ticket, Principal, error) {
	p := principal(c)
	get := s.store.GetTicket
	if len(head) > 0 && head[0] {
		get = s.store.GetTicketHead
	}
	t, err := get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return t, p, err
	}
	if !models.IsParty(t, p.Role, p.Subject) {
		// Same answer as a missing ticket: a key does not learn other shops' ids.
		return t, p, models.Errorf(models.ENOTFOUND, "ticket %s not found", c.Param("id"))
	}
	return t, p, nil
}

func (s *Server) getTicket(c echo.Context) error {
	t, p, err := s.visibleTicket(c)
	if err != nil {
		return err
	}
	return writeTicket(c, http.StatusOK, p, t)
}

// ticketAction sends one agent action to the ticket as a Temporal Update. The update
// id comes from the Idempotency-Key header, so a retried request is applied once.
func (s *Server) ticketAction(c echo.Context) error {
	action := c.Param("action")
	if !isAction(action) {
		return models.Errorf(models.ENOTFOUND, "unknown action %q; actions are %s", action, strings.Join(models.Actions, ", "))
	}
	t, p, err := s.visibleTicket(c, true) // the answer reads the ticket again, after the action
	if err != nil {
		return err
	}
	var body models.ActionBody
	if err := s.decode(c, &body); err != nil {
		return err
	}
	ifMatch, err := ifMatchSeq(c.Request().Header.Get("If-Match"))
	if err != nil {
		return err
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	req := models.ActionRequest{Action: action, Actor: p.Subject, Role: p.Role, RequestID: rid, Body: body, IfMatch: ifMatch}
	ctx, cancel := context.WithTimeout(c.Request().Context(), updateWait)
	defer cancel()
	// Without an Idempotency-Key the SDK picks a fresh update id; with one, the
	// server derives it from the principal and the key (updateIDFor).
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.TicketWorkflowID(c.Param("id")), UpdateName: workflows.UpdateAction,
		UpdateID: updateIDFor(c, p), Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return actionError(t, err)
	}
	var res workflows.ActionResult
	if err := h.Get(ctx, &res); err != nil {
		return actionError(t, err)
	}
	// The update answered once the read model had the action: the answer is the
	// ticket as GET shows it, timeline included (the update's own answer leaves the
	// timeline out, to keep the ticket's history small).
	after, err := s.store.GetTicket(c.Request().Context(), t.ID)
	if err != nil {
		// Applied all the same: answer with the update's ticket (its timeline is
		// in the read model) rather than an error a client would retry.
		s.log.Warn("action applied, read model not read", "ticket", t.ID, "error", err)
		return writeTicket(c, http.StatusOK, p, res.Ticket)
	}
	return writeTicket(c, http.StatusOK, p, after)
}

// actionError explains an action on a ticket whose workflow has finished: it ended
// and its evaluation window closed.
func actionError(t models.Ticket, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) && t.Evaluation != nil {
		return models.Errorf(models.ECONFLICT, "ticket %s has ended and was evaluated; it takes no more actions", t.ID)
	}
	if errors.As(err, &nf) && t.EndedAt != nil {
		return models.Errorf(models.ECONFLICT, "ticket %s ended at %s and its evaluation window has closed; it takes no more actions",
			t.ID, t.EndedAt.UTC().Format(time.RFC3339))
	}
	return domainError(err)
}

func isAction(a string) bool {
	for _, x := range models.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// listTickets answers from the read model with cursor paging.
func (s *Server) listTickets(c echo.Context) error {
	f, err := ticketFilter(c)
	if err != nil {
		return err
	}
	page, err := s.store.ListTickets(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tickets": page.Tickets, "next_cursor": page.NextCursor})
}

// ticketFilter reads the list filters and scopes a seller to its own shop.
func ticketFilter(c echo.Context) (store.TicketFilter, error) {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return store.TicketFilter{}, err
	}
	q := c.QueryParams()
	f := store.TicketFilter{State: q.Get("state"), Kind: q.Get("kind"), Cursor: q.Get("cursor")}
	if f.ShopID, err = shopScope(p, q.Get("shop_id")); err != nil {
		return f, err
	}
	if f.State != "" && !models.State(f.State).Valid() {
		return f, models.Errorf(models.EINVALID, "state %q is not a ticket state", f.State)
	}
	if f.Kind != "" && !models.Kind(f.Kind).Valid() {
		return f, models.Errorf(models.EINVALID, "kind %q is not a ticket kind", f.Kind)
	}
	if v := q.Get("escalated"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, models.Errorf(models.EINVALID, "escalated must be true or false")
		}
		f.Escalated = &b
	}
	if v := q.Get("deadline_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, models.Errorf(models.EINVALID, "deadline_before must be an RFC 3339 time such as 2026-11-23T10:00:00Z")
		}
		f.DeadlineBefore = &t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return f, models.Errorf(models.EINVALID, "limit must be 1 to 200")
		}
		f.Limit = n
	}
	return f, nil
}
