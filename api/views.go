package api

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/models"
)

// buyerTicket is a ticket as its buyer sees it: without buyer_credit and
// buyer_flagged, the platform's risk record of the buyer (DESIGN §2 Trust: a
// buyer never sees their own credit or flag). Its two fields of the same JSON
// names sit shallower than the embedded ticket's, so encoding/json writes
// them instead (Go's rules for embedded fields), and being nil they are left
// out. TestBuyerNeverSeesTheirRisk holds it to that.
type buyerTicket struct {
	models.Ticket
	BuyerCredit  *struct{} `json:"buyer_credit,omitempty"`
	BuyerFlagged *struct{} `json:"buyer_flagged,omitempty"`
}

// ticketFor is t as p may see it in an answer: a buyer without the risk
// fields; the shop's seller and the platform whole.
func ticketFor(p Principal, t models.Ticket) any {
	t.Lines = models.TicketLines(t)
	if p.Role == models.RoleBuyer {
		return buyerTicket{Ticket: t}
	}
	return t
}

// ticketETag is the ETag of a ticket answer's body (its id and seq), "" for any
// other body: a replayed answer carries the ETag it was first given.
func ticketETag(body []byte) string {
	var t struct {
		ID  string `json:"id"`
		Seq *int64 `json:"seq"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.ID == "" || t.Seq == nil {
		return ""
	}
	return strconv.Quote(strconv.FormatInt(*t.Seq, 10))
}

// writeTicket answers with t as p may see it, and its seq as the ETag (DESIGN
// §4, optimistic concurrency): an action sent with that ETag in If-Match is
// refused with 412 once the ticket has moved on.
func writeTicket(c echo.Context, status int, p Principal, t models.Ticket) error {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(t.Seq, 10)))
	return c.JSON(status, ticketFor(p, t))
}

// ifMatchSeq reads an action's If-Match header: the ETag of a ticket answer,
// "<seq>". Absent or "*" asks for no check (0). A weak tag, a list or anything
// that is not a ticket's ETag is refused with 400, since a check the client
// asked for must not be skipped silently.
func ifMatchSeq(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	bad := models.Errorf(models.EMALFORMED,
		"If-Match must be one ETag of this ticket as an answer gave it, such as \"12\" (its seq), not %q", h)
	if len(h) > 24 {
		return 0, bad
	}
	unquoted := h
	if len(h) >= 2 && h[0] == '"' && h[len(h)-1] == '"' {
		unquoted = h[1 : len(h)-1]
	}
	seq, err := strconv.ParseInt(unquoted, 10, 64)
	if err != nil || seq <= 0 || strconv.FormatInt(seq, 10) != unquoted {
		return 0, bad
	}
	return seq, nil
}
