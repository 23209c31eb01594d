package app_test

import (
	"fmt"
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

// A create refused for units other tickets hold leaves its external_id free,
// so the shop's corrected request under the same reference opens the ticket;
// a create naming a sku twice is refused as a bad request, not a conflict.
func TestRefusedUnitsLeaveTheReferenceFree(t *testing.T) {
	o, b := deliveredOrder(t, 1)
	cups := func(n int) models.CreateTicket {
		return models.CreateTicket{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, Kind: models.KindReturnRefund,
			ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, Items: []models.Item{{SKU: "CUP", Qty: n}}}
	}
	if _, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: cups(2), Sent: app.Sent{}}); err != nil {
		t.Fatal(err)
	}
	ref := cups(2)
	ref.ExternalID = fmt.Sprintf("ext-units-%d", seq.Add(1))
	_, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: ref, Sent: app.Sent{"external_id": true}})
	wantCode(t, "two more cups under a reference", err, models.ECONFLICT)
	fixed := cups(1)
	fixed.ExternalID = ref.ExternalID
	if created, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: fixed, Sent: app.Sent{"external_id": true}}); err != nil || !created.New {
		t.Errorf("the corrected request under the same reference: %+v, %v", created, err)
	}
	twice := cups(1)
	twice.Items = append(twice.Items, models.Item{SKU: "CUP", Qty: 1})
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: twice, Sent: app.Sent{}})
	wantCode(t, "a sku named twice", err, models.EINVALID)
}

// A platform's override_note on a create the windows allow records nothing:
// the audit entry says only what was overridden.
func TestOverrideNoteOnlyWhenSomethingIsOverridden(t *testing.T) {
	o, _ := deliveredOrder(t, 1)
	c := models.CreateTicket{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, Kind: models.KindReturnRefund,
		ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, Items: []models.Item{{SKU: "CUP", Qty: 1}},
		OverrideNote: "just in case"}
	created, err := cmds.CreateTicket(t.Context(), platform, app.CreateTicket{Request: c, Sent: app.Sent{"override_note": true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range created.Ticket.Timeline {
		if e.Action == "override_eligibility" {
			t.Errorf("an eligible create recorded an override: %+v", e)
		}
	}
}
