package app_test

import (
	"strings"
	"testing"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// 2 of 3 cups are returned; a second ticket for 2 more is refused with 409
// naming the ticket that holds them, and may be opened once that ticket is
// withdrawn with nothing moved.
func TestUnitsAcrossTickets(t *testing.T) {
	o, b := deliveredOrder(t, 1)
	twoCups := models.CreateTicket{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, Kind: models.KindReturnRefund,
		ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, RequestedCents: 2000,
		Items: []models.Item{{SKU: "CUP", Qty: 2}}}
	first, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: twoCups, Sent: app.Sent{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: twoCups, Sent: app.Sent{}})
	if models.ErrorCode(err) != models.ECONFLICT || !strings.Contains(models.ErrorMessage(err), first.Ticket.ID) {
		t.Fatalf("two more cups: %v, want 409 naming %s", err, first.Ticket.ID)
	}
	oneCup := twoCups
	oneCup.Items, oneCup.RequestedCents = []models.Item{{SKU: "CUP", Qty: 1}}, 1000
	if _, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: oneCup, Sent: app.Sent{}}); err != nil {
		t.Fatalf("the third cup: %v", err)
	}
	if _, err := cmds.Act(t.Context(), b, app.Act{TicketID: first.Ticket.ID, Action: "cancel"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, first.Ticket.ID, models.StateClosed)
	if _, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: twoCups, Sent: app.Sent{}}); err != nil {
		t.Errorf("the two cups the withdrawn ticket gave back: %v", err)
	}
}
