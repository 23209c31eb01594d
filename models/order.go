package models

import (
	"fmt"
	"time"
)

// OrderFacts are what the shop's order system knows of a paid order (DESIGN §2
// Trust): the body of PUT /v1/orders/{order_id}. Only the shop's seller or the
// platform state them; a buyer's create names the order and these are read.
type OrderFacts struct {
	ShopID           string     `json:"shop_id"`
	BuyerID          string     `json:"buyer_id"`
	PaidCents        int64      `json:"paid_cents"`
	Currency         string     `json:"currency,omitempty"`
	PaidAt           time.Time  `json:"paid_at"`
	ShippedAt        *time.Time `json:"shipped_at,omitempty"`
	DeliveredAt      *time.Time `json:"delivered_at,omitempty"`
	FreightInsurance bool       `json:"freight_insurance"`
	SelfOperated     bool       `json:"self_operated"`
	Items            []Item     `json:"items"`
}

// Order is an order record as the API answers it.
type Order struct {
	OrderID string `json:"order_id"`
	OrderFacts
	// Shipped and Delivered follow from ShippedAt and DeliveredAt.
	Shipped       bool      `json:"shipped"`
	Delivered     bool      `json:"delivered"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	TicketIDs     []string  `json:"ticket_ids"`
	RefundedCents int64     `json:"refunded_cents"`
	// Lines is the order line by line (OrderLines), in answers only.
	Lines []OrderLine `json:"lines,omitempty"`
}

// OrderName names an order where one string must: the workflow id of its
// shipping watch and the keys of its compensation. An order is identified by
// (shop, order id) (DESIGN §2 Trust); '@' is in no id, so two orders never
// share a name.
func OrderName(shopID, orderID string) string { return orderID + "@" + shopID }

// UnknownOrder is the one answer (ENOTFOUND) for an order the caller may not
// see and for one no one registered: the same words for both, so order ids
// cannot be probed (DESIGN §2 Trust).
func UnknownOrder(shopID, orderID string) error {
	return Errorf(ENOTFOUND, "order %s of shop %s is not registered: the shop's seller or the platform registers it with PUT /v1/orders/%s", orderID, shopID, orderID)
}

// RMANumber is a ticket's RMA number: the nth of its shop, "<shop id>-000123",
// short enough to read out on the phone and unique within the shop.
func RMANumber(shopID string, n int64) string { return fmt.Sprintf("%s-%06d", shopID, n) }

// Normalize fills the currency's default and derives shipped and delivered.
func (o *Order) Normalize() {
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	o.Shipped, o.Delivered = o.ShippedAt != nil || o.DeliveredAt != nil, o.DeliveredAt != nil
	if o.Items == nil {
		o.Items = []Item{}
	}
}

// ValidateAt checks an order record as Validate does, and its times against
// the clock: none may be later than now by more than ClockSkew.
func (o Order) ValidateAt(now time.Time) error {
	if err := o.Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		at   *time.Time
	}{{"paid_at", &o.PaidAt}, {"shipped_at", o.ShippedAt}, {"delivered_at", o.DeliveredAt}} {
		if f.at != nil {
			if err := CheckFactTime(f.name, *f.at, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks an order record against DESIGN §4's limits, naming the
// field: the ones that need no clock (ValidateAt adds those that do).
func (o Order) Validate() error {
	for _, f := range []struct{ name, v string }{{"order_id", o.OrderID}, {"shop_id", o.ShopID}, {"buyer_id", o.BuyerID}} {
		if err := CheckID(f.name, f.v); err != nil {
			return err
		}
	}
	if err := CheckAmount("paid_cents", o.PaidCents); err != nil {
		return err
	}
	if err := CheckCurrency("currency", o.Currency); err != nil {
		return err
	}
	switch {
	case o.PaidAt.IsZero():
		return Errorf(EINVALID, "paid_at is required (RFC 3339, e.g. 2026-11-20T08:00:00Z)")
	case o.PaidAt.Before(EarliestOrderTime):
		return Errorf(EINVALID, "paid_at %s is before %s; send the time the order was paid", o.PaidAt.UTC().Format(time.RFC3339), EarliestOrderTime.Format(time.RFC3339))
	case o.ShippedAt != nil && o.ShippedAt.Before(o.PaidAt):
		return Errorf(EINVALID, "shipped_at is before paid_at")
	case o.DeliveredAt != nil && o.DeliveredAt.Before(o.PaidAt):
		return Errorf(EINVALID, "delivered_at is before paid_at")
	case o.DeliveredAt != nil && o.ShippedAt != nil && o.DeliveredAt.Before(*o.ShippedAt):
		return Errorf(EINVALID, "delivered_at is before shipped_at")
	case len(o.Items) > MaxItems:
		return Errorf(EINVALID, "items has %d entries; the limit is %d", len(o.Items), MaxItems)
	}
	if err := checkItems(o.Items); err != nil {
		return err
	}
	return checkItemsPaid(o.Items, o.PaidCents)
}

// checkItemsPaid refuses lines worth more (qty × unit_paid_cents, summed)
// than the order's paid amount: a line's price is what was paid for it, so the
// lines cannot add up to more. Less is fine (the order also paid for freight,
// or for lines the record leaves out). The lines are checked (checkItems) first, and the sum stops at the
// first line past paid, so it cannot overflow.
func checkItemsPaid(items []Item, paid int64) error {
	var worth int64
	for _, it := range items {
		line := int64(it.Qty) * it.UnitPaidCents
		if line > paid || worth+line > paid {
			return Errorf(EINVALID, "items are worth more (qty × unit_paid_cents) than the %d cents paid for the order; send each line's price as paid", paid)
		}
		worth += line
	}
	return nil
}

// Info is what a ticket keeps of its order.
func (o Order) Info() OrderInfo {
	return OrderInfo{PaidCents: o.PaidCents, PaidAt: o.PaidAt, Shipped: o.Shipped, Delivered: o.Delivered,
		FreightInsurance: o.FreightInsurance, SelfOperated: o.SelfOperated}
}

// FixedFacts names the facts that differ between two records of one order among
// those that may not change once a ticket exists (DESIGN §4): shop, buyer, paid
// amount and currency.
func FixedFacts(was, now Order) []string {
	var d []string
	if was.ShopID != now.ShopID {
		d = append(d, "shop_id")
	}
	if was.BuyerID != now.BuyerID {
		d = append(d, "buyer_id")
	}
	if was.PaidCents != now.PaidCents {
		d = append(d, "paid_cents")
	}
	if was.Currency != now.Currency {
		d = append(d, "currency")
	}
	return d
}

// checkItems checks item lines: an id-shaped sku, a quantity and a unit price.
func checkItems(items []Item) error {
	for i, it := range items {
		if err := CheckID(fmt.Sprintf("items[%d].sku", i), it.SKU); err != nil {
			return err
		}
		if it.Qty <= 0 || it.Qty > maxQty || it.UnitPaidCents < 0 || it.UnitPaidCents > MaxAmountCents {
			return Errorf(EINVALID, "items[%d] needs a qty of 1 to %d and unit_paid_cents of 0 to %d", i, maxQty, int64(MaxAmountCents))
		}
		if err := checkCategory(fmt.Sprintf("items[%d].category", i), it.Category); err != nil {
			return err
		}
	}
	return nil
}

// Buyer is the platform's risk record of a buyer (PUT /v1/buyers/{buyer_id}).
type Buyer struct {
	BuyerID   string    `json:"buyer_id"`
	Credit    int       `json:"credit"`
	Flagged   bool      `json:"flagged"`
	Note      string    `json:"note"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a buyer record.
func (b Buyer) Validate() error {
	if err := CheckID("buyer_id", b.BuyerID); err != nil {
		return err
	}
	if b.Credit < 0 || b.Credit > 5 {
		return Errorf(EINVALID, "credit must be 0 to 5 stars, not %d", b.Credit)
	}
	return CheckText("note", b.Note)
}

// StatedFacts is the order record that a create from the shop's seller or the
// platform states in its order object. A create says whether the order shipped
// or was delivered, not when: a flag set is taken to have happened by the payment
// time, the earliest it can have.
func (c CreateTicket) StatedFacts() OrderFacts {
	f := OrderFacts{ShopID: c.ShopID, BuyerID: c.BuyerID, PaidCents: c.Order.PaidCents, Currency: c.Currency,
		PaidAt: c.Order.PaidAt, FreightInsurance: c.Order.FreightInsurance, SelfOperated: c.Order.SelfOperated, Items: c.Items}
	if c.Order.Shipped || c.Order.Delivered {
		at := c.Order.PaidAt
		f.ShippedAt = &at
	}
	if c.Order.Delivered {
		at := c.Order.PaidAt
		f.DeliveredAt = &at
	}
	return f
}
