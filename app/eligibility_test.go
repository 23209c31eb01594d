package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// deliveredOrder registers an order of shop-app delivered days ago, of three
// cups and a perishable cake, and returns it with its buyer.
func deliveredOrder(t *testing.T, days int) (models.Order, models.Principal) {
	t.Helper()
	n := seq.Add(1)
	b := buyer(fmt.Sprintf("buyer-win-%d", n))
	now := time.Now().UTC().Truncate(time.Second)
	delivered := now.AddDate(0, 0, -days)
	o := models.Order{OrderID: fmt.Sprintf("o-win-%d", n), OrderFacts: models.OrderFacts{ShopID: seller.Subject, BuyerID: b.Subject,
		PaidCents: 5000, Currency: "CNY", PaidAt: delivered.Add(-48 * time.Hour), ShippedAt: ptr(delivered.Add(-24 * time.Hour)), DeliveredAt: &delivered,
		Items: []models.Item{{SKU: "CUP", Qty: 3, UnitPaidCents: 1000}, {SKU: "CAKE", Qty: 1, UnitPaidCents: 2000, Category: models.CategoryPerishable}}}}
	saved, _, err := cmds.PutOrder(t.Context(), seller, o, app.Sent{})
	if err != nil {
		t.Fatal(err)
	}
	return saved, b
}

func ptr[T any](v T) *T { return &v }

// A no-reason return (七天无理由) of 2 of the 3 cups is in time on the 7th day
// after delivery and refused on the 8th, naming the rule and the day; a
// perishable line is refused whatever the day; the platform may open either
// with a note, which the timeline keeps; nobody else may send one.
func TestReturnWindowsAtCreate(t *testing.T) {
	noReason := func(o models.Order, items ...models.Item) models.CreateTicket {
		return models.CreateTicket{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, Kind: models.KindReturnRefund,
			ReasonCode: models.ReasonNoReason, ReturnMethod: models.ReturnSelfShip, RequestedCents: 2000, Items: items}
	}
	twoCups := models.Item{SKU: "CUP", Qty: 2}

	inTime, early := deliveredOrder(t, 7)
	created, err := cmds.CreateTicket(t.Context(), early, app.CreateTicket{Request: noReason(inTime, twoCups), Sent: app.Sent{}})
	if err != nil {
		t.Fatalf("day 7: %v", err)
	}
	if it := created.Ticket.Items; len(it) != 1 || it[0].Qty != 2 || it[0].UnitPaidCents != 1000 {
		t.Errorf("items %+v, want 2 cups at the order's 1000", it)
	}

	late, b := deliveredOrder(t, 8)
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: noReason(late, twoCups), Sent: app.Sent{}})
	closed := time.Now().In(time.FixedZone("", 8*3600)).AddDate(0, 0, -1).Format(time.DateOnly)
	if models.ErrorCode(err) != models.EINVALID || !strings.Contains(models.ErrorMessage(err), "return_windows.no_reason") ||
		!strings.Contains(models.ErrorMessage(err), "closed at the end of "+closed) {
		t.Errorf("day 8: %v, want 422 naming return_windows.no_reason and %s", err, closed)
	}
	_, err = cmds.CreateTicket(t.Context(), early, app.CreateTicket{Request: noReason(inTime, models.Item{SKU: "CAKE", Qty: 1}), Sent: app.Sent{}})
	wantCode(t, "a no-reason return of the perishable cake", err, models.EINVALID)

	withNote := noReason(late, twoCups)
	withNote.OverrideNote = "courier lost the first parcel; agreed on the phone"
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: withNote, Sent: app.Sent{"override_note": true}})
	wantCode(t, "a buyer's override_note", err, models.EINVALID)
	opened, err := cmds.CreateTicket(t.Context(), platform, app.CreateTicket{Request: withNote, Sent: app.Sent{"override_note": true}})
	if err != nil {
		t.Fatalf("the platform's override: %v", err)
	}
	tl := opened.Ticket.Timeline
	if len(tl) < 2 || tl[1].Action != "override_eligibility" || tl[1].Actor != platform.Subject ||
		!strings.Contains(tl[1].Note, "return_windows.no_reason") || !strings.Contains(tl[1].Note, withNote.OverrideNote) {
		t.Errorf("timeline %+v, want the platform's override with the rule and its note", tl)
	}
}
