package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// createTicket opens a ticket (app.CreateTicket). With an Idempotency-Key
// header (or an external_id) the same body returns the same ticket with 200,
// another body 409.
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
	// Under an Idempotency-Key the id was reserved with the key (the middleware
	// replays a finished create).
	created, err := s.app.CreateTicket(c.Request().Context(), p, app.CreateTicket{Request: req, Sent: got,
		TicketID: claimedTicketID(c), RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created.New {
		status = http.StatusCreated
	}
	return writeTicket(c, status, p, created.Ticket)
}

func (s *Server) getTicket(c echo.Context) error {
	p := principal(c)
	t, err := s.app.Ticket(c.Request().Context(), p, c.Param("id"), false)
	if err != nil {
		return err
	}
	return writeTicket(c, http.StatusOK, p, t)
}

// ticketAction sends one agent action to the ticket (app.Act). The update id
// comes from the Idempotency-Key header, so a retried request is applied once.
func (s *Server) ticketAction(c echo.Context) error {
	p := principal(c)
	var body models.ActionBody
	if err := s.decode(c, &body); err != nil {
		return err
	}
	ifMatch, err := ifMatchSeq(c.Request().Header.Get("If-Match"))
	if err != nil {
		return err
	}
	t, err := s.app.Act(c.Request().Context(), p, app.Act{TicketID: c.Param("id"), Action: c.Param("action"), Body: body, IfMatch: ifMatch,
		UpdateID: updateIDFor(c, p), RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
	if err != nil {
		return err
	}
	return writeTicket(c, http.StatusOK, p, t)
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
	for i := range page.Tickets {
		page.Tickets[i].Lines = models.TicketLines(page.Tickets[i]) // as a ticket answer shows it
	}
	return c.JSON(http.StatusOK, map[string]any{"tickets": page.Tickets, "next_cursor": page.NextCursor})
}

// ticketFilter reads the list filters and scopes a seller to its own shop.
func ticketFilter(c echo.Context) (models.TicketFilter, error) {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return models.TicketFilter{}, err
	}
	q := c.QueryParams()
	f := models.TicketFilter{State: q.Get("state"), Kind: q.Get("kind"), Cursor: q.Get("cursor"), RMA: q.Get("rma")}
	if f.ShopID, err = app.ShopScope(p, q.Get("shop_id")); err != nil {
		return f, err
	}
	if len(f.RMA) > 80 {
		return f, models.Errorf(models.EINVALID, "rma is %d characters; an RMA number is at most 80", len(f.RMA))
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
