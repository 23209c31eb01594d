package models

import (
	"strings"
	"time"
)

// maxQty is the most units one item line may hold.
const maxQty = 1_000_000

// CreateTicket is the body of POST /v1/tickets. What a create states is what
// its body sends, so the fields a client may leave out are left out of its
// encoding when empty: a Go client that sends a CreateTicket states no
// currency, order, buyer_credit or recent_returns it did not set (DESIGN §4:
// a buyer who sends order or buyer_credit at all is refused).
type CreateTicket struct {
	OrderID        string       `json:"order_id"`
	ShopID         string       `json:"shop_id"`
	BuyerID        string       `json:"buyer_id"`
	Kind           Kind         `json:"kind"`
	ReasonCode     ReasonCode   `json:"reason_code"`
	Reason         string       `json:"reason"`
	ReturnMethod   ReturnMethod `json:"return_method"`
	RequestedCents int64        `json:"requested_cents"`
	Currency       string       `json:"currency,omitempty"`
	Order          OrderInfo    `json:"order,omitzero"`
	Items          []Item       `json:"items"`
	ExternalID     string       `json:"external_id,omitempty"`
	BuyerCredit    int          `json:"buyer_credit,omitempty"`
	ExchangeSKU    string       `json:"exchange_sku,omitempty"`
	PickupAddress  string       `json:"pickup_address,omitempty"`
	// OverrideNote is the platform's reason for opening a ticket its return
	// window or a line's category refuses (CheckEligibility); recorded in the
	// timeline. Only the platform may send it.
	OverrideNote string `json:"override_note,omitempty"`
	// RecentReturns is how many returns the buyer made within the fast-review
	// window: counted by the server from our own tickets, never sent by a client.
	RecentReturns int `json:"recent_returns,omitempty"`
}

// Normalize fills defaults a caller may leave out: currency CNY, return method none
// for kinds that send nothing back.
func (c *CreateTicket) Normalize() {
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	if c.Currency == "" {
		c.Currency = "CNY"
	}
	if c.ReturnMethod == "" && !c.Kind.NeedsReturn() {
		c.ReturnMethod = ReturnNone
	}
	if c.ReasonCode == "" {
		c.ReasonCode = ReasonOther
	}
}

// Validate checks the request against DESIGN.md §4 and returns an EINVALID error that
// names the first bad field.
func (c CreateTicket) Validate() error {
	for _, r := range []struct{ field, v string }{
		{"order_id", c.OrderID}, {"shop_id", c.ShopID}, {"buyer_id", c.BuyerID},
	} {
		if err := CheckID(r.field, r.v); err != nil {
			return err
		}
	}
	for _, r := range []struct{ field, v string }{{"external_id", c.ExternalID}, {"exchange_sku", c.ExchangeSKU}} {
		if r.v != "" {
			if err := CheckID(r.field, r.v); err != nil {
				return err
			}
		}
	}
	for _, r := range []struct{ field, v string }{{"reason", c.Reason}, {"pickup_address", c.PickupAddress}, {"override_note", c.OverrideNote}} {
		if err := CheckText(r.field, r.v); err != nil {
			return err
		}
	}
	if err := CheckCurrency("currency", c.Currency); err != nil {
		return err
	}
	if err := CheckAmount("order.paid_cents", c.Order.PaidCents); err != nil {
		return err
	}
	switch {
	case !c.Kind.Valid():
		return Errorf(EINVALID, "kind %q is not one of %s", c.Kind, joinAll(Kinds))
	case !c.ReasonCode.Valid():
		return Errorf(EINVALID, "reason_code %q is not one of %s", c.ReasonCode, joinAll(ReasonCodes))
	case !c.ReturnMethod.Valid():
		return Errorf(EINVALID, "return_method %q is not one of %s", c.ReturnMethod, joinAll(ReturnMethods))
	case c.Order.PaidAt.IsZero():
		return Errorf(EINVALID, "order.paid_at is required (RFC 3339, e.g. 2026-11-20T08:00:00Z)")
	case c.RequestedCents < 0:
		return Errorf(EINVALID, "requested_cents must not be negative")
	case c.RequestedCents > c.Order.PaidCents:
		return Errorf(EINVALID, "requested_cents %d is more than the %d cents paid for the order", c.RequestedCents, c.Order.PaidCents)
	case c.BuyerCredit < 0 || c.BuyerCredit > 5:
		return Errorf(EINVALID, "buyer_credit must be 0 to 5 stars")
	case c.RecentReturns < 0:
		return Errorf(EINVALID, "recent_returns must not be negative")
	case len(c.Items) > MaxItems:
		return Errorf(EINVALID, "items has %d entries; the limit is %d", len(c.Items), MaxItems)
	}
	if err := checkItems(c.Items); err != nil {
		return err
	}
	return c.validateKindMethod()
}

// validateKindMethod checks that the return method fits the kind.
func (c CreateTicket) validateKindMethod() error {
	switch c.Kind {
	case KindRefundOnly, KindPriceProtection:
		if c.ReturnMethod != ReturnNone {
			return Errorf(EINVALID, "kind %s sends nothing back: return_method must be none", c.Kind)
		}
		if c.RequestedCents == 0 {
			return Errorf(EINVALID, "requested_cents is required for kind %s", c.Kind)
		}
	case KindReturnRefund:
		if c.ReturnMethod != ReturnPickup && c.ReturnMethod != ReturnSelfShip {
			return Errorf(EINVALID, "kind return_refund needs return_method pickup or self_ship")
		}
		if c.RequestedCents == 0 {
			return Errorf(EINVALID, "requested_cents is required for kind return_refund")
		}
	case KindExchange:
		if c.ReturnMethod == ReturnNone {
			return Errorf(EINVALID, "kind exchange needs return_method pickup, self_ship or swap_on_delivery")
		}
		if strings.TrimSpace(c.ExchangeSKU) == "" {
			return Errorf(EINVALID, "exchange_sku is required for kind exchange")
		}
	case KindRepair:
		if c.ReturnMethod != ReturnPickup && c.ReturnMethod != ReturnSelfShip {
			return Errorf(EINVALID, "kind repair needs return_method pickup or self_ship")
		}
	}
	if c.Kind == KindPriceProtection && c.ReasonCode != ReasonPriceDrop {
		return Errorf(EINVALID, "kind price_protection needs reason_code price_drop")
	}
	if c.ReturnMethod == ReturnPickup || c.ReturnMethod == ReturnSwapOnDelivery {
		if strings.TrimSpace(c.PickupAddress) == "" {
			return Errorf(EINVALID, "pickup_address is required for return_method %s", c.ReturnMethod)
		}
	}
	return nil
}

func joinAll[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, a := range all {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// NewTicket builds the ticket as it stands the moment it is created, before review.
func NewTicket(id string, c CreateTicket, p Policy, now time.Time) Ticket {
	t := Ticket{
		ID: id, OrderID: c.OrderID, ShopID: c.ShopID, BuyerID: c.BuyerID,
		Kind: c.Kind, State: StatePendingReview, ReturnMethod: c.ReturnMethod,
		ReasonCode: c.ReasonCode, Reason: c.Reason, RequestedCents: c.RequestedCents,
		Currency: c.Currency, PolicyVersion: p.Version, Order: c.Order, Items: c.Items,
		ExternalID: c.ExternalID, BuyerCredit: c.BuyerCredit, ExchangeSKU: c.ExchangeSKU,
		PickupAddress: c.PickupAddress, CreatedAt: now, UpdatedAt: now,
		Refunds: []Refund{}, Timeline: []Event{},
	}
	if c.Kind.NeedsReturn() {
		t.ReturnShippingPayer = "buyer"
		if c.ReasonCode.SellerFault() {
			t.ReturnShippingPayer = "seller"
		}
	}
	return t
}
