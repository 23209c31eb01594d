package models

import (
	"strings"
	"testing"
)

// An exchange of 2 cups (10.00 each) for another variant: the seller states
// the replacement's price approving it, and the difference moves as the
// exchange ends. Every figure is worked out by hand.
func TestExchangeAtAnotherPrice(t *testing.T) {
	exchange := func(t *testing.T, price int64) *story {
		t.Helper()
		c := CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ReasonCode: ReasonQuality, ExchangeSKU: "CUP-BLUE",
			Order: OrderInfo{PaidCents: 5_500}, Items: []Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1_000}}}
		s := newStory(t, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{ExchangeUnitCents: &price})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		s.want(StateReplacementShipping, "")
		s.answer(s.last(EffectShipReplacement), EffectResult{TrackingNo: "SF9"})
		s.act(RoleBuyer, ActConfirmReplacement, ActionBody{})
		return s
	}
	t.Run("dearer: the buyer is charged 2 × 2.50", func(t *testing.T) {
		s := exchange(t, 1_250)
		e := s.last(EffectMoveMoney)
		if e.Purpose != PurposeExchangeCharge || e.AmountCents != 500 {
			t.Fatalf("moved %s %d, want exchange_charge 500", e.Purpose, e.AmountCents)
		}
		s.want(StateRefunding, "") // waits for the charge
		s.pay(e.Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeExchanged)
		s.wantRefunded(0) // the buyer's payment is no refund
	})
	t.Run("dearer, the charge refused: the platform is told", func(t *testing.T) {
		s := exchange(t, 1_250)
		e := s.last(EffectMoveMoney)
		s.answer(e, EffectResult{Failed: true, Code: RefusedByProvider, Reason: "card declined"})
		s.want(StateCompleted, OutcomeExchanged)
		if n := s.last(EffectNotify); n.To != RolePlatform || !strings.Contains(n.Message, "500 cents of the exchange difference unpaid") {
			t.Fatalf("notify %+v", n)
		}
	})
	t.Run("cheaper: the buyer is refunded 2 × 3.00", func(t *testing.T) {
		s := exchange(t, 700)
		e := s.last(EffectMoveMoney)
		if e.Purpose != PurposeRefund || e.AmountCents != 600 {
			t.Fatalf("moved %s %d, want refund 600", e.Purpose, e.AmountCents)
		}
		s.pay(e.Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeExchanged)
		s.wantRefunded(600)
		if s.tk.RequestedCents != 600 {
			t.Errorf("requested_cents %d, want the 600 difference", s.tk.RequestedCents)
		}
	})
	t.Run("the same price: nothing moves", func(t *testing.T) {
		s := exchange(t, 1_000)
		s.want(StateCompleted, OutcomeExchanged)
		if count(s.effects, EffectMoveMoney) != 0 {
			t.Fatalf("money moved for an exchange at the same price: %+v", s.effects)
		}
	})
}

func TestExchangePriceRefused(t *testing.T) {
	price := int64(1_250)
	for _, tc := range []struct {
		name string
		c    CreateTicket
		want string
	}{
		{"not an exchange", CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip, Items: []Item{{SKU: "CUP", Qty: 1, UnitPaidCents: 1_000}}}, "this ticket is a return_refund"},
		{"no priced lines", CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ExchangeSKU: "CUP-BLUE"}, "no price to compare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStory(t, tc.c, nil)
			err := s.try(Input{Action: &ActionRequest{Action: ActApprove, Actor: "shop-1", Role: RoleSeller, Body: ActionBody{ExchangeUnitCents: &price}}})
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("approve = %v, want %s saying %q", err, EINVALID, tc.want)
			}
		})
	}
	t.Run("a ticket under the rules before lines", func(t *testing.T) {
		c := CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ExchangeSKU: "CUP-BLUE", Items: []Item{{SKU: "CUP", Qty: 1, UnitPaidCents: 1_000}}}
		s := newStoryUnder(t, RulesMoneyAnchored, c, nil)
		err := s.try(Input{Action: &ActionRequest{Action: ActApprove, Actor: "shop-1", Role: RoleSeller, Body: ActionBody{ExchangeUnitCents: &price}}})
		if ErrorCode(err) != EINVALID {
			t.Fatalf("approve = %v, want %s", err, EINVALID)
		}
	})
}
