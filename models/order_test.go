package models

import (
	"strings"
	"testing"
	"time"
)

// An order record's times fall between 2000 and our clock plus ClockSkew, and
// its lines are worth at most what was paid; each refusal names the field.
func TestOrderRecordLimits(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	valid := func() Order {
		return Order{OrderID: "o-1", OrderFacts: OrderFacts{ShopID: "s-1", BuyerID: "b-1", PaidCents: 5000, Currency: "CNY",
			PaidAt: now.Add(-48 * time.Hour), Items: []Item{{SKU: "A", Qty: 2, UnitPaidCents: 2000}, {SKU: "B", Qty: 1, UnitPaidCents: 1000}}}}
	}
	big := Item{SKU: "GOLD", Qty: maxQty, UnitPaidCents: MaxAmountCents}
	cases := []struct {
		name  string
		edit  func(*Order)
		field string // "" when valid
	}{
		{"valid", func(*Order) {}, ""},
		{"lines worth less than was paid", func(o *Order) { o.Items = o.Items[:1] }, ""},
		{"paid within the clock skew ahead", func(o *Order) { o.PaidAt = now.Add(ClockSkew) }, ""},
		{"paid on 2000-01-01", func(o *Order) { o.PaidAt = EarliestOrderTime }, ""},
		{"paid in year 0", func(o *Order) { o.PaidAt = *at("0000-01-01T00:00:00Z") }, "paid_at"},
		{"paid at the Unix epoch", func(o *Order) { o.PaidAt = time.Unix(0, 0) }, "paid_at"},
		{"paid past the clock skew", func(o *Order) { o.PaidAt = now.Add(ClockSkew + time.Second) }, "paid_at"},
		{"shipped tomorrow", func(o *Order) { o.ShippedAt = at("2026-11-24T10:00:00Z") }, "shipped_at"},
		{"delivered tomorrow", func(o *Order) { o.DeliveredAt = at("2026-11-24T10:00:00Z") }, "delivered_at"},
		{"delivered in year 0, never shipped", func(o *Order) { o.DeliveredAt = at("0000-01-01T00:00:00Z") }, "delivered_at"},
		{"lines worth one cent more than was paid", func(o *Order) { o.Items[1].UnitPaidCents = 1001 }, "items"},
		{"lines whose product would overflow a sum", func(o *Order) { o.Items = []Item{big, big, big, big, big, big, big, big, big, big} }, "items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := valid()
			c.edit(&o)
			err := o.ValidateAt(now)
			switch {
			case c.field == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.field != "" && (ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), c.field)):
				t.Errorf("got %v, want %s naming %s first", err, EINVALID, c.field)
			}
		})
	}
}
