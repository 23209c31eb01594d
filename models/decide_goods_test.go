package models

import (
	"strings"
	"testing"
)

// The goods rules of DESIGN.md §2 and the smaller findings of the money review,
// each as a story under RulesMoneyAnchored and, where the rules before behaved
// otherwise, under those, showing the defect the story catches.

func count(effects []Effect, kind EffectKind) int {
	n := 0
	for _, e := range effects {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// Goods that came back are never asked for again: an inspection failed, the
// seller offers, the buyer declines, the seller approves. No second pickup.
func TestGoodsNeverAskedTwice(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		c := CreateTicket{}
		pickupReturn(&c)
		s := newStoryUnder(t, rules, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.courier(CourierPickedUp)
		s.courier(CourierDelivered)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectFail, Note: "scratched"})
		s.act(RoleSeller, ActOffer, ActionBody{RefundCents: ptr[int64](3000), KeepItem: true})
		s.act(RoleBuyer, ActDeclineOffer, ActionBody{})
		s.act(RoleSeller, ActApprove, ActionBody{})
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		if n := count(s.effects, EffectBookPickup); n != 1 {
			t.Fatalf("%d pickups booked for goods the seller holds", n)
		}
		s.want(StateRefunding, "")
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
		s.want(StateCompleted, OutcomeRefunded)
	})
	t.Run("before", func(t *testing.T) {
		if n := count(run(t, 0).effects, EffectBookPickup); n != 2 {
			t.Fatalf("the rules before booked %d pickups; the story no longer shows the second", n)
		}
	})
}

// The return parcel delivered while the ticket is escalated for "not
// delivered" is recorded and counts for the buyer.
func TestGoodsDeliveredWhileEscalated(t *testing.T) {
	run := func(t *testing.T, rules int) (*story, error) {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.pass("arrive_by")
		s.want(StateEscalated, "")
		return s, s.try(Input{Courier: &CourierEvent{EventID: "late", TicketID: s.tk.ID, Type: CourierDelivered, TrackingNo: "SF1"}})
	}
	t.Run("anchored", func(t *testing.T) {
		s, err := run(t, RulesMoneyAnchored)
		if err != nil || !s.tk.Logistics.Returned {
			t.Fatalf("delivery refused (%v) or not recorded", err)
		}
		if e := s.tk.Escalation.Evidence; len(e) != 1 || e[0].Role != RoleBuyer {
			t.Fatalf("the delivery is not evidence for the buyer: %+v", e)
		}
		if ev := s.last(EffectSendEvidence); ev.Evidence == nil || !strings.Contains(ev.Evidence.Note, "delivered") {
			t.Fatalf("the escalation is not told: %+v", ev)
		}
	})
	t.Run("before", func(t *testing.T) {
		if _, err := run(t, 0); ErrorCode(err) != ECONFLICT {
			t.Fatalf("the rules before took the delivery (%v); the story no longer shows it refused", err)
		}
	})
}

// A lightning refund still in flight at arrive_by, confirmed after it, for goods
// that never arrive, is recovered like one confirmed before.
func TestLightningConfirmedAfterArriveBy(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		c := CreateTicket{BuyerCredit: 3}
		pickupReturn(&c)
		s := newStoryUnder(t, rules, c, func(p *Policy) { p.LightningRefund.Enabled = true })
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.courier(CourierPickedUp)
		key := s.last(EffectMoveMoney)
		s.answer(key, EffectResult{Status: RefundSent})
		s.pass("arrive_by")
		s.pay(key.Key, RefundSucceeded)
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		s.want(StateRecovering, "")
		back := s.last(EffectMoveMoney)
		if back.Purpose != PurposeRecovery || back.AmountCents != 10000 {
			t.Fatalf("no recovery of the lightning refund: %+v", back)
		}
		s.answer(back, EffectResult{Status: RefundSucceeded})
		s.want(StateClosed, OutcomeRecovered)
		if got := buyerHolds(s.tk.Refunds); got != 0 {
			t.Fatalf("the buyer keeps %d for goods that never came", got)
		}
	})
	t.Run("before", func(t *testing.T) {
		if s := run(t, 0); s.tk.State != StateEscalated {
			t.Fatalf("the rules before went to %s; the story no longer shows the escalation", s.tk.State)
		}
	})
}

// A freight-insurance claim still settling after a completed exchange is not
// the seller's money: refund_by passing marks no breach and escalates nothing.
func TestFreightClaimIsNotTheSellersBreach(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		c := CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ExchangeSKU: "sku-2",
			Order: OrderInfo{PaidCents: 10000, FreightInsurance: true}}
		s := newStoryUnder(t, rules, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		s.act(RoleBuyer, ActConfirmReplacement, ActionBody{})
		s.want(StateRefunding, "") // waiting for the claim
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSent})
		s.pass("refund_by")
		s.pass("refund_by")
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		if s.tk.Flags.SellerBreach || s.tk.State != StateRefunding {
			t.Fatalf("breach %v, state %s: the claim is not the seller's to pay", s.tk.Flags.SellerBreach, s.tk.State)
		}
		s.pay(s.tk.Refunds[0].Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeExchanged)
	})
	t.Run("before", func(t *testing.T) {
		if s := run(t, 0); s.tk.State != StateEscalated || !s.tk.Flags.SellerBreach {
			t.Fatalf("the rules before: %s, breach %v; the story no longer shows the escalation", s.tk.State, s.tk.Flags.SellerBreach)
		}
	})
}

// The buyer withdraws during an escalation: the escalation is ended too.
func TestCancelDuringEscalationEndsIt(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "no"})
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "unfair"})
		s.act(RoleBuyer, ActCancel, ActionBody{})
		return s
	}
	if s := run(t, RulesMoneyAnchored); count(s.effects, EffectEndEscalation) != 1 {
		t.Fatalf("the escalation keeps running after the cancel: %+v", s.effects)
	}
	if s := run(t, 0); count(s.effects, EffectEndEscalation) != 0 {
		t.Fatal("the rules before ended it; the story no longer shows the child left running")
	}
}

// A repair order that fails after the buyer escalated from repairing does not
// escalate a second time (which would drop the evidence given).
func TestLateRepairFailureKeepsTheEscalation(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindRepair, ReturnMethod: ReturnSelfShip}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		repair := s.last(EffectSendToRepair)
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "too slow"})
		s.act(RoleBuyer, ActEvidence, ActionBody{Note: "photos"})
		s.answer(repair, EffectResult{Failed: true, Reason: "repair centre closed"})
		return s
	}
	if s := run(t, RulesMoneyAnchored); s.tk.Escalations != 1 || len(s.tk.Escalation.Evidence) != 1 {
		t.Fatalf("escalations %d, evidence %+v", s.tk.Escalations, s.tk.Escalation.Evidence)
	}
	if s := run(t, 0); s.tk.Escalations != 2 {
		t.Fatal("the rules before escalated once; the story no longer shows the second escalation")
	}
}

// A courier visit booked and no longer wanted is cancelled, even when the
// booking's answer comes after the buyer withdrew.
func TestUnwantedBookingCancelled(t *testing.T) {
	run := func(t *testing.T, rules int) (*story, error) {
		c := CreateTicket{}
		pickupReturn(&c)
		s := newStoryUnder(t, rules, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		book := s.last(EffectBookPickup)
		s.act(RoleBuyer, ActCancel, ActionBody{Reason: "changed my mind"})
		return s, s.try(Input{Result: &EffectResult{Effect: book, BookingID: "BK-1"}})
	}
	s, err := run(t, RulesMoneyAnchored)
	if err != nil || s.last(EffectCancelPickup).BookingID != "BK-1" {
		t.Fatalf("the late booking is not cancelled: %v", err)
	}
	if _, err := run(t, 0); ErrorCode(err) != ECONFLICT {
		t.Fatalf("the rules before took the late booking (%v); the story no longer shows it dropped", err)
	}
}

// Each party has its own room for evidence: a seller's 50 entries never stop the
// buyer's.
func TestEvidenceRoomPerParty(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	s.act(RoleSeller, ActReject, ActionBody{Reason: "no"})
	s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "unfair"})
	for range MaxEvidencePerParty {
		s.act(RoleSeller, ActEvidence, ActionBody{Note: "."})
	}
	if err := s.try(Input{Action: &ActionRequest{Action: ActEvidence, Actor: subjects[RoleSeller], Role: RoleSeller,
		Body: ActionBody{Note: "one more"}}}); ErrorCode(err) != EINVALID {
		t.Fatalf("the seller's entry past its room: %v", err)
	}
	s.act(RoleBuyer, ActEvidence, ActionBody{Note: "my photos", URLs: []string{"https://example.com/p.jpg"}})
}

// A delivery of the return parcel is recorded in any state before the end: sent
// during the review, it is recorded and the approval goes straight to the
// refund; sent without tracking while the ticket waits for it, it moves the
// ticket to inspection instead of expiring at ship_by.
func TestDeliveryRecordedInAnyState(t *testing.T) {
	delivered := Input{Courier: &CourierEvent{EventID: "d1", TicketID: "T1", Type: CourierDelivered}}
	s := newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
	s.must(delivered)
	s.want(StatePendingReview, "")
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.want(StateRefunding, "")
	if n := count(s.effects, EffectBookPickup); n != 0 || !s.tk.Logistics.Returned {
		t.Fatalf("returned %v, %d pickups", s.tk.Logistics.Returned, n)
	}

	s = newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.want(StateAwaitingBuyerShipment, "")
	s.must(delivered)
	s.want(StateAwaitingInspection, "")

	before := newStoryUnder(t, 0, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
	before.act(RoleSeller, ActApprove, ActionBody{})
	if err := before.try(delivered); ErrorCode(err) != ECONFLICT {
		t.Fatalf("the rules before took the delivery (%v); the story no longer shows it refused", err)
	}
}

// A pickup re-booked at pickup_by cancels the visit booked before.
func TestRebookingCancelsTheOldVisit(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		c := CreateTicket{}
		pickupReturn(&c)
		s := newStoryUnder(t, rules, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.answer(s.last(EffectBookPickup), EffectResult{BookingID: "BK-1"})
		s.pass("pickup_by")
		return s
	}
	if s := run(t, RulesMoneyAnchored); count(s.effects, EffectCancelPickup) != 1 || s.last(EffectCancelPickup).BookingID != "BK-1" {
		t.Fatalf("the old visit is not cancelled: %+v", s.effects)
	}
	if s := run(t, 0); count(s.effects, EffectCancelPickup) != 0 {
		t.Fatal("the rules before cancelled it; the story no longer shows the visit left booked")
	}
}

// A booking whose answer comes after the courier already picked the goods up
// (its first answer was lost and the call retried) is the visit in use: it is
// not cancelled, which would stop the courier's next report.
func TestLateBookingAnswerOfAVisitThatHappened(t *testing.T) {
	c := CreateTicket{}
	pickupReturn(&c)
	s := newStory(t, c, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	book := s.last(EffectBookPickup)
	s.courier(CourierPickedUp)
	if err := s.try(Input{Result: &EffectResult{Effect: book, BookingID: "BK-1"}}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("the late answer of the visit that happened: %v", err)
	}
	if n := count(s.effects, EffectCancelPickup); n != 0 {
		t.Fatalf("the visit that happened was cancelled: %+v", s.effects)
	}
	s.courier(CourierDelivered)
	s.want(StateAwaitingInspection, "")
}
