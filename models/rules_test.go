package models

import (
	"strings"
	"testing"
	"time"
)

func TestFastReviewDecision(t *testing.T) {
	p := DefaultPolicy()
	base := CreateTicket{Kind: KindReturnRefund, RequestedCents: 50000, BuyerCredit: 2, RecentReturns: 3,
		Order: OrderInfo{PaidCents: 90000}}
	cases := []struct {
		name string
		edit func(*CreateTicket, *Policy)
		want bool
	}{
		{"at every limit", func(*CreateTicket, *Policy) {}, true},
		{"amount over", func(c *CreateTicket, _ *Policy) { c.RequestedCents = 50001 }, false},
		{"credit under", func(c *CreateTicket, _ *Policy) { c.BuyerCredit = 1 }, false},
		{"too many returns", func(c *CreateTicket, _ *Policy) { c.RecentReturns = 4 }, false},
		{"disabled", func(_ *CreateTicket, p *Policy) { p.FastReview.Enabled = false }, false},
		{"never repairs", func(c *CreateTicket, _ *Policy) { c.Kind = KindRepair }, false},
		{"no amount: the order's", func(c *CreateTicket, _ *Policy) { c.Kind, c.RequestedCents = KindExchange, 0 }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct, pp := base, p
			c.edit(&ct, &pp)
			got, rule := FastReviewDecision(ct, pp)
			if got != c.want || (got && rule == "") {
				t.Errorf("approve %v rule %q, want %v", got, rule, c.want)
			}
		})
	}
}

func TestLightningEligible(t *testing.T) {
	p := DefaultPolicy()
	tk := Ticket{Kind: KindReturnRefund, BuyerCredit: 2, Order: OrderInfo{PaidCents: 300000}}
	if !LightningEligible(tk, p, false) {
		t.Error("eligible ticket refused")
	}
	for name, edit := range map[string]func(*Ticket){
		"over 3000 CNY": func(t *Ticket) { t.Order.PaidCents = 300001 },
		"credit 1":      func(t *Ticket) { t.BuyerCredit = 1 },
		"exchange":      func(t *Ticket) { t.Kind = KindExchange },
	} {
		x := tk
		edit(&x)
		if LightningEligible(x, p, false) {
			t.Errorf("%s: eligible", name)
		}
	}
	if LightningEligible(tk, p, true) {
		t.Error("flagged buyer eligible")
	}
}

func TestRefundAfterInspection(t *testing.T) {
	p := DefaultPolicy()
	buyerFault := Ticket{RequestedCents: 10001, ReasonCode: ReasonNoReason}
	if got, err := RefundAfterInspection(buyerFault, p, 50); err != nil || got != 5001 {
		t.Errorf("50%% of 10001: %d %v", got, err)
	}
	if _, err := RefundAfterInspection(buyerFault, p, 51); ErrorCode(err) != EINVALID {
		t.Errorf("51%%: %v", err)
	}
	if _, err := RefundAfterInspection(Ticket{RequestedCents: 100, ReasonCode: ReasonDamaged}, p, 10); ErrorCode(err) != EINVALID {
		t.Errorf("seller fault deduction: %v", err)
	}
}

func TestShippingCompensation(t *testing.T) {
	r := DefaultPolicy().ShippingCompensation
	cases := []struct {
		paid int64
		self bool
		want int64
	}{{10000, false, 3000}, {166666, false, 49999}, {1000000, false, 50000}, {1000000, true, 500}, {33, false, 9}}
	for _, c := range cases {
		if got := ShippingCompensation(c.paid, c.self, r); got != c.want {
			t.Errorf("paid %d self %v: %d, want %d", c.paid, c.self, got, c.want)
		}
	}
}

func TestCreateTicketValidate(t *testing.T) {
	ok := CreateTicket{OrderID: "o", ShopID: "s", BuyerID: "b", Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip,
		RequestedCents: 100, Order: OrderInfo{PaidCents: 100, PaidAt: time.Now()}}
	ok.Normalize()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	cases := map[string]func(*CreateTicket){
		"order_id":        func(c *CreateTicket) { c.OrderID = "" },
		"kind":            func(c *CreateTicket) { c.Kind = "gift" },
		"more than":       func(c *CreateTicket) { c.RequestedCents = 101 },
		"paid_at":         func(c *CreateTicket) { c.Order.PaidAt = time.Time{} },
		"pickup_address":  func(c *CreateTicket) { c.ReturnMethod = ReturnPickup },
		"exchange_sku":    func(c *CreateTicket) { c.Kind = KindExchange },
		"return_method":   func(c *CreateTicket) { c.Kind = KindRefundOnly },
		"price_drop":      func(c *CreateTicket) { c.Kind, c.ReturnMethod = KindPriceProtection, ReturnNone },
		"buyer_credit":    func(c *CreateTicket) { c.BuyerCredit = 6 },
		"currency":        func(c *CreateTicket) { c.Currency = "YUAN" },
		"items[0]":        func(c *CreateTicket) { c.Items = []Item{{SKU: "", Qty: 1}} },
		"pickup or self":  func(c *CreateTicket) { c.ReturnMethod = ReturnNone },
		"requested_cents": func(c *CreateTicket) { c.RequestedCents = -1 },
	}
	for want, edit := range cases {
		c := ok
		edit(&c)
		err := c.Validate()
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func BenchmarkCheckAction(b *testing.B) {
	p := DefaultPolicy()
	tk := Ticket{ID: "T", ShopID: "s", BuyerID: "b", State: StateAwaitingInspection, RequestedCents: 1000,
		ReasonCode: ReasonNoReason, Order: OrderInfo{PaidCents: 1000}}
	req := ActionRequest{Action: ActInspect, Actor: "s", Role: RoleSeller, Body: ActionBody{Result: InspectDeduct, DeductPercent: 20}}
	now := time.Now()
	for b.Loop() {
		if err := CheckAction(tk, req, p, now); err != nil {
			b.Fatal(err)
		}
	}
}
