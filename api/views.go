package api

import "github.com/aftersales/aftersales/models"

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
	if p.Role == models.RoleBuyer {
		return buyerTicket{Ticket: t}
	}
	return t
}
