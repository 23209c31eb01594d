package models

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// story drives one ticket through Decide the way the workflow will: each input at
// a moment, each effect answered by the test.
type story struct {
	t       *testing.T
	tk      Ticket
	p       Policy
	now     time.Time
	effects []Effect // every effect asked for so far, in order
}

var storyStart = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func newStory(t *testing.T, c CreateTicket, edit func(*Policy)) *story {
	t.Helper()
	return newStoryUnder(t, RulesLines, c, edit)
}

// newStoryUnder starts a story on a ticket under the money rules version rules
// (Ticket.Rules): 0 shows what a ticket created before RulesMoneyAnchored does.
func newStoryUnder(t *testing.T, rules int, c CreateTicket, edit func(*Policy)) *story {
	t.Helper()
	p := DefaultPolicy()
	p.FastReview.Enabled, p.LightningRefund.Enabled = false, false
	if edit != nil {
		edit(&p)
	}
	c.OrderID, c.ShopID, c.BuyerID, c.Currency = "o-1", "shop-1", "buyer-1", "CNY"
	if c.Order.PaidCents == 0 {
		c.Order.PaidCents = 10000
	}
	if c.RequestedCents == 0 && c.Kind != KindExchange && c.Kind != KindRepair {
		c.RequestedCents = c.Order.PaidCents
	}
	if c.ReasonCode == "" {
		c.ReasonCode = ReasonNoReason
	}
	if c.ReturnMethod == "" {
		c.ReturnMethod = ReturnNone
	}
	s := &story{t: t, p: p, now: storyStart}
	s.tk = NewTicket("T1", c, p, s.now)
	s.tk.Rules = rules
	s.must(Input{Create: &CreateInput{Create: c, Actor: "buyer-1", Role: RoleBuyer}})
	return s
}

// try applies in at the story's moment and keeps the result when it is accepted.
func (s *story) try(in Input) error {
	s.t.Helper()
	tk, eff, err := Decide(s.tk, s.p, in, s.now)
	if err != nil {
		if !reflect.DeepEqual(tk, s.tk) || eff != nil {
			s.t.Fatalf("a refused input changed the ticket or asked for effects: %v", err)
		}
		return err
	}
	s.tk = tk
	s.effects = append(s.effects, eff...)
	return nil
}

func (s *story) must(in Input) {
	s.t.Helper()
	if err := s.try(in); err != nil {
		s.t.Fatalf("ticket in %s refused %+v: %v", s.tk.State, in, err)
	}
}

var subjects = map[Role]string{RoleBuyer: "buyer-1", RoleSeller: "shop-1", RolePlatform: "agent-1", RoleAdmin: "admin"}

func (s *story) act(role Role, action string, b ActionBody) {
	s.t.Helper()
	s.must(Input{Action: &ActionRequest{Action: action, Actor: subjects[role], Role: role, Body: b}})
}

func (s *story) courier(typ string) {
	s.t.Helper()
	s.must(Input{Courier: &CourierEvent{EventID: typ, TicketID: s.tk.ID, Type: typ}})
}

func (s *story) pay(key string, status MoneyStatus) {
	s.t.Helper()
	s.must(Input{Payment: &PaymentEvent{EventID: key + string(status), TicketID: s.tk.ID, RefundKey: key, Status: status}})
}

// pass lets the running deadline come and go.
func (s *story) pass(name string) {
	s.t.Helper()
	if s.tk.Deadline == nil || s.tk.Deadline.Name != name {
		s.t.Fatalf("in %s the deadline is %+v, not %s", s.tk.State, s.tk.Deadline, name)
	}
	s.now = s.tk.Deadline.At
	s.must(Input{Deadline: name})
}

// last returns the newest effect of kind, failing when there is none.
func (s *story) last(kind EffectKind) Effect {
	s.t.Helper()
	for i := len(s.effects) - 1; i >= 0; i-- {
		if s.effects[i].Kind == kind {
			return s.effects[i]
		}
	}
	s.t.Fatalf("no %s effect among %+v", kind, s.effects)
	return Effect{}
}

func (s *story) answer(e Effect, r EffectResult) {
	s.t.Helper()
	r.Effect = e
	s.must(Input{Result: &r})
}

func (s *story) want(state State, outcome Outcome) {
	s.t.Helper()
	if s.tk.State != state || s.tk.Outcome != outcome {
		s.t.Fatalf("ticket %s/%s, want %s/%s; timeline %+v", s.tk.State, s.tk.Outcome, state, outcome, s.tk.Timeline)
	}
}

func (s *story) wantRefunded(cents int64) {
	s.t.Helper()
	if s.tk.RefundedCents != cents {
		s.t.Fatalf("refunded %d, want %d; money %+v", s.tk.RefundedCents, cents, s.tk.Refunds)
	}
}

func pickupReturn(c *CreateTicket) {
	c.Kind, c.ReturnMethod, c.PickupAddress = KindReturnRefund, ReturnPickup, "1 Road"
}

func ptr[T any](v T) *T { return &v }

// Each row of the state table: its deadline and what happens when it passes.
func TestDecideTimeouts(t *testing.T) {
	t.Run("review_by auto-approves", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.pass("review_by")
		s.want(StateRefunding, "")
		if !s.tk.Flags.AutoActed || s.last(EffectMoveMoney).AmountCents != 10000 {
			t.Fatalf("flags %+v effects %+v", s.tk.Flags, s.effects)
		}
	})
	t.Run("offer_response_by expires", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActOffer, ActionBody{RefundCents: ptr[int64](4000), KeepItem: true})
		s.pass("offer_response_by")
		s.want(StateClosed, OutcomeExpired)
	})
	t.Run("appeal_by closes rejected", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "no defect"})
		s.pass("appeal_by")
		s.want(StateClosed, OutcomeRejected)
	})
	t.Run("pickup_by re-books then falls back; ship_by expires", func(t *testing.T) {
		var c CreateTicket
		pickupReturn(&c)
		s := newStory(t, c, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.want(StateAwaitingPickup, "")
		s.answer(s.last(EffectBookPickup), EffectResult{BookingID: "PU-1"})
		s.pass("pickup_by")
		if book := s.last(EffectBookPickup); book.Attempt != 2 {
			t.Fatalf("re-booking attempt %d", book.Attempt)
		}
		s.answer(s.last(EffectBookPickup), EffectResult{BookingID: "PU-2"})
		s.pass("pickup_by")
		s.want(StateAwaitingBuyerShipment, "")
		if s.last(EffectCancelPickup).BookingID != "PU-2" || s.tk.ReturnMethod != ReturnSelfShip {
			t.Fatalf("fallback: %+v %s", s.effects, s.tk.ReturnMethod)
		}
		s.pass("ship_by")
		s.want(StateClosed, OutcomeExpired)
	})
	t.Run("arrive_by escalates a return not refunded", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.pass("arrive_by")
		s.want(StateEscalated, "")
		if e := s.last(EffectStartEscalation).Escalation; e == nil || e.ClaimCents != 10000 || s.tk.Deadline.Name != "evidence_by" {
			t.Fatalf("escalation %+v deadline %+v", e, s.tk.Deadline)
		}
	})
	t.Run("inspect_by auto-passes and refunds", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		s.pass("inspect_by")
		s.want(StateRefunding, "")
		key := s.last(EffectMoveMoney).Key
		s.pay(key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
		s.wantRefunded(10000)
	})
	t.Run("refund_by forces by lookup, then escalates", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSent})
		s.pass("refund_by")
		if !s.tk.Flags.SellerBreach || s.last(EffectLookupMoney).Key != key {
			t.Fatalf("breach %v effects %+v", s.tk.Flags.SellerBreach, s.effects)
		}
		s.pass("refund_by")
		s.want(StateEscalated, "")
	})
	t.Run("confirm_by completes the exchange", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ExchangeSKU: "L"}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		s.want(StateReplacementShipping, "")
		s.pass("confirm_by")
		s.want(StateCompleted, OutcomeExchanged)
	})
	t.Run("repair_by escalates", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRepair, ReturnMethod: ReturnSelfShip}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		s.want(StateRepairing, "")
		s.pass("repair_by")
		s.want(StateEscalated, "")
	})
	t.Run("evidence_by then decide_by show in turn", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "no"})
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "it is broken"})
		s.pass("evidence_by")
		if s.tk.Deadline == nil || s.tk.Deadline.Name != "decide_by" || !s.tk.Deadline.At.Equal(s.tk.Escalation.DecideBy) {
			t.Fatalf("after evidence_by: %+v", s.tk.Deadline)
		}
		// The escalation decides at decide_by; the ticket only shows it.
		s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, RefundCents: 10000, Automatic: true}})
		s.want(StateRefunding, "")
	})
	t.Run("a stale deadline is refused", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		if err := s.try(Input{Deadline: "refund_by"}); ErrorCode(err) != ECONFLICT {
			t.Fatalf("stale deadline: %v", err)
		}
		if err := s.try(Input{Deadline: "review_by"}); ErrorCode(err) != ECONFLICT {
			t.Fatalf("a deadline before its time: %v", err)
		}
	})
}

// The lightning refund and its recovery (闪电退款, 闪电催收).
func TestDecideLightning(t *testing.T) {
	lightning := func(p *Policy) { p.LightningRefund.Enabled = true }
	start := func(t *testing.T) (*story, string) {
		c := CreateTicket{BuyerCredit: 3}
		pickupReturn(&c)
		s := newStory(t, c, lightning)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.courier(CourierPickedUp)
		s.want(StateInTransit, "")
		if !s.tk.Flags.LightningRefund {
			t.Fatal("no lightning refund at pickup")
		}
		return s, s.last(EffectMoveMoney).Key
	}
	t.Run("arrival settles without inspection", func(t *testing.T) {
		s, key := start(t)
		s.pay(key, RefundSucceeded)
		s.courier(CourierDelivered)
		s.want(StateCompleted, OutcomeRefunded)
	})
	t.Run("arrival with the refund in flight waits for it", func(t *testing.T) {
		s, key := start(t)
		s.courier(CourierDelivered)
		s.want(StateRefunding, "")
		s.pay(key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
	})
	t.Run("arrive_by starts recovery; recover_by writes off; a late charge is kept", func(t *testing.T) {
		s, key := start(t)
		s.pay(key, RefundSucceeded)
		s.pass("arrive_by")
		s.want(StateRecovering, "")
		charge := s.last(EffectMoveMoney)
		if charge.Purpose != PurposeRecovery || charge.AmountCents != 10000 {
			t.Fatalf("recovery charge %+v", charge)
		}
		s.pass("recover_by")
		s.want(StateEscalated, "")
		if !s.tk.Flags.WrittenOff {
			t.Fatal("not written off")
		}
		s.pay(charge.Key, RefundSucceeded)
		s.want(StateEscalated, "")
		if n := len(s.tk.Refunds); n != 2 {
			t.Fatalf("a charge kept after the write-off started %d movements: %+v", n, s.tk.Refunds)
		}
	})
	t.Run("a recovery charge is repaid only when the goods arrived", func(t *testing.T) {
		s, key := start(t)
		s.pay(key, RefundSucceeded)
		s.pass("arrive_by")
		charge := s.last(EffectMoveMoney)
		s.pay(charge.Key, RefundSucceeded) // charged back: closed recovered
		s.want(StateClosed, OutcomeRecovered)
		s.wantRefunded(0)

		s2, key2 := start(t)
		s2.pay(key2, RefundSucceeded)
		s2.pass("arrive_by")
		charge2 := s2.last(EffectMoveMoney)
		s2.courier(CourierDelivered) // the goods came after all, the charge still in flight
		s2.want(StateRefunding, "")
		s2.pay(charge2.Key, RefundSucceeded)
		repay := s2.last(EffectMoveMoney)
		if repay.Purpose != PurposeRepayment || repay.AmountCents != 10000 {
			t.Fatalf("repayment %+v", repay)
		}
		s2.want(StateRefunding, "") // never ends with the repayment in flight
		s2.pay(repay.Key, RefundSucceeded)
		s2.want(StateCompleted, OutcomeRefunded)
		s2.wantRefunded(10000)
	})
}

// The money rules of DESIGN.md §2 that each once failed in the field.
func TestDecideMoneyRules(t *testing.T) {
	t.Run("a failed key is looked up before a new one, and a late success is charged back", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 9000}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		first := s.last(EffectMoveMoney)
		s.pay(first.Key, RefundFailed)
		if n := len(s.tk.Refunds); n != 1 || s.last(EffectLookupMoney).Key != first.Key {
			t.Fatalf("after a failure: %d keys, effects %+v", n, s.effects)
		}
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed}) // confirmed: it never paid and will not
		second := s.last(EffectMoveMoney)
		if second.Key == first.Key || second.AmountCents != 9000 {
			t.Fatalf("second key %+v", second)
		}
		s.pay(second.Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
		s.pay(first.Key, RefundSucceeded) // the voided key paid after all
		s.want(StateCompleted, OutcomeRefunded)
		over := s.last(EffectMoveMoney)
		if over.Purpose != PurposeOverpaid || over.AmountCents != 9000 {
			t.Fatalf("overpayment not charged back: %+v", over)
		}
		s.pay(over.Key, RefundSucceeded)
		s.wantRefunded(9000)
	})
	t.Run("cancel is refused while a failed key may still pay, allowed once it is void", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 9000}, func(p *Policy) { p.RefundAttempts = 1 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		first := s.last(EffectMoveMoney)
		s.pay(first.Key, RefundFailed)
		cancel := Input{Action: &ActionRequest{Action: ActCancel, Actor: "buyer-1", Role: RoleBuyer}}
		if err := s.try(cancel); ErrorCode(err) != ECONFLICT {
			t.Fatalf("cancel with a failed key not yet confirmed: %v, want a conflict", err)
		}
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.want(StateEscalated, "") // refund_attempts used: the platform decides
		s.must(cancel)
		s.want(StateClosed, OutcomeWithdrawn)
	})
	t.Run("a refund paid in full while escalated for going unconfirmed ends the ticket", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 1000}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		s.pass("refund_by")
		s.pass("refund_by") // missed twice: escalated with the refund in flight
		s.want(StateEscalated, "")
		s.pay(key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
		s.last(EffectEndEscalation)
		s.wantRefunded(1000)
	})
	t.Run("an escalation whose process failed is decided by the ticket at decide_by", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 1000}, nil)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "no"})
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "yes"})
		s.act(RoleBuyer, ActEvidence, ActionBody{Note: "photos"})
		s.answer(s.last(EffectStartEscalation), EffectResult{Failed: true, Reason: "child not started"})
		if err := s.try(Input{Result: &EffectResult{Effect: s.last(EffectStartEscalation), Failed: true}}); ErrorCode(err) != ECONFLICT {
			t.Fatalf("a second failure report: %v, want a conflict", err)
		}
		s.pass("evidence_by")
		s.pass("decide_by") // the buyer answered: the buyer's claim
		s.want(StateRefunding, "")
		s.pay(s.last(EffectMoveMoney).Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
		s.wantRefunded(1000)
	})
	t.Run("a verdict counts the refund in flight", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 1000}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.pass("refund_by")
		s.pass("refund_by") // missed twice: escalated with the refund in flight
		s.want(StateEscalated, "")
		if c := s.tk.Escalation.ClaimCents; c != 0 {
			t.Fatalf("claim %d, want 0: the 1000 asked for is in flight", c)
		}
		err := s.try(Input{Action: &ActionRequest{Action: ActArbitrate, Actor: "agent-1", Role: RolePlatform,
			Body: ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](9500)}}})
		if ErrorCode(err) != EINVALID {
			t.Fatalf("an award above what is still refundable: %v", err)
		}
		s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](500)})
		s.want(StateRefunding, "")
		s.pay(s.tk.Refunds[0].Key, RefundSucceeded)
		award := s.last(EffectMoveMoney)
		if award.AmountCents != 500 {
			t.Fatalf("award paid %+v", award)
		}
		s.pay(award.Key, RefundSucceeded)
		s.want(StateCompleted, OutcomeRefunded)
		s.wantRefunded(1500)
	})
	t.Run("no end with money in flight", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		s.pass("refund_by")
		s.pass("refund_by")
		s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportSeller})
		s.want(StateRefunding, "") // the seller won, but the refund may still land
		s.pay(key, RefundSucceeded)
		s.want(StateClosed, OutcomePlatformDeclined)
		s.wantRefunded(10000)
	})
	t.Run("the ledger's refusal escalates at once", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.answer(s.last(EffectMoveMoney), EffectResult{Failed: true, Code: ECONFLICT, Reason: "over the order's cap"})
		s.want(StateEscalated, "")
	})
	t.Run("a key the provider never saw is sent again under the same key", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		s.answer(s.last(EffectMoveMoney), EffectResult{Failed: true, Reason: "timeout"})
		s.answer(s.last(EffectLookupMoney), EffectResult{}) // never saw it
		if again := s.last(EffectMoveMoney); again.Key != key || len(s.tk.Refunds) != 1 {
			t.Fatalf("resent %+v, keys %+v", again, s.tk.Refunds)
		}
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSent})
		s.pass("refund_by")
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundSent}) // still paying
		if n := len(s.effects); s.effects[n-1].Kind != EffectLookupMoney {
			t.Fatalf("a key still in flight is not asked about again: %+v", s.effects[n-1])
		}
	})
	t.Run("a provider that never answers is asked, not paid again", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.answer(s.last(EffectMoveMoney), EffectResult{Failed: true, Reason: "503"})
		if len(s.tk.Refunds) != 1 || s.last(EffectLookupMoney).Key != s.tk.Refunds[0].Key {
			t.Fatalf("after no answer: %+v", s.effects)
		}
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundSucceeded})
		s.want(StateCompleted, OutcomeRefunded)
	})
	t.Run("refund_attempts voided keys escalate", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, func(p *Policy) { p.RefundAttempts = 2 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		for range 2 {
			s.pay(s.last(EffectMoveMoney).Key, RefundFailed)
			s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		}
		s.want(StateEscalated, "")
		if len(s.tk.Refunds) != 2 {
			t.Fatalf("keys %+v", s.tk.Refunds)
		}
	})
	t.Run("freight insurance pays only for goods that came back", func(t *testing.T) {
		insured := CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip, Order: OrderInfo{PaidCents: 10000, FreightInsurance: true}}
		s := newStory(t, insured, nil)
		s.act(RoleSeller, ActOffer, ActionBody{RefundCents: ptr[int64](3000), KeepItem: true})
		s.act(RoleBuyer, ActAcceptOffer, ActionBody{})
		s.pay(s.last(EffectMoveMoney).Key, RefundSucceeded)
		s.want(StateCompleted, OutcomePartiallyRefunded)
		if slices.ContainsFunc(s.tk.Refunds, func(r Refund) bool { return r.Purpose == PurposeFreight }) {
			t.Fatalf("freight claimed with nothing returned: %+v", s.tk.Refunds)
		}

		r := newStory(t, insured, nil)
		r.act(RoleSeller, ActApprove, ActionBody{})
		r.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		r.courier(CourierDelivered)
		r.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		r.pay(r.last(EffectMoveMoney).Key, RefundSucceeded)
		claim := r.last(EffectMoveMoney)
		if claim.Purpose != PurposeFreight {
			t.Fatalf("no freight claim after the return: %+v", r.effects)
		}
		r.want(StateRefunding, "") // the end waits for the claim
		r.pay(claim.Key, RefundSucceeded)
		r.want(StateCompleted, OutcomeRefunded)
		r.wantRefunded(10000)
	})
	t.Run("reports in any order move a key once", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		s.pay(key, RefundSucceeded)
		for _, st := range []MoneyStatus{RefundSucceeded, RefundSent} {
			if err := s.try(Input{Payment: &PaymentEvent{EventID: "x", TicketID: "T1", RefundKey: key, Status: st}}); ErrorCode(err) != ECONFLICT {
				t.Fatalf("late %s after success: %v", st, err)
			}
		}
		// A failure after the success is asked of the provider (it may be an old
		// report, or the money came back); it moves nothing by itself.
		s.pay(key, RefundFailed)
		if look := s.last(EffectLookupMoney); look.Key != key {
			t.Fatalf("a failure after the success is not looked up: %+v", look)
		}
		s.wantRefunded(10000)
	})
}

func TestNextMoneyStatus(t *testing.T) {
	for _, c := range []struct {
		cur, reported, want MoneyStatus
		changed             bool
	}{
		{RefundPending, RefundSent, RefundSent, true},
		{RefundSent, RefundFailed, RefundFailed, true},
		{RefundFailed, RefundSucceeded, RefundSucceeded, true}, // a late success is recorded
		{RefundVoid, RefundSucceeded, RefundSucceeded, true},
		{RefundSucceeded, RefundFailed, RefundSucceeded, false},
		{RefundFailed, RefundSent, RefundFailed, false},
		{RefundSent, "refunded", RefundSent, false},
	} {
		if got, changed := NextMoneyStatus(c.cur, c.reported); got != c.want || changed != c.changed {
			t.Errorf("NextMoneyStatus(%s, %s) = %s, %v; want %s, %v", c.cur, c.reported, got, changed, c.want, c.changed)
		}
	}
}

// If-Match (ActionRequest.IfMatch): an action names the seq its sender saw; a
// ticket that moved on refuses it with EPRECONDITION before anything else but
// who may see it, and takes it when the seq is current or not given.
func TestActionIfMatch(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	seen := s.tk.Seq
	s.act(RoleSeller, ActReply, ActionBody{Message: "looking into it"})
	stale := ActionRequest{Action: ActApprove, Actor: "shop-1", Role: RoleSeller, IfMatch: seen}
	if err := s.try(Input{Action: &stale}); ErrorCode(err) != EPRECONDITION {
		t.Fatalf("an approve from seq %d on a ticket at %d: %v, want %s", seen, s.tk.Seq, err, EPRECONDITION)
	}
	other := ActionRequest{Action: ActApprove, Actor: "shop-2", Role: RoleSeller, IfMatch: seen}
	if err := s.try(Input{Action: &other}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("another shop's approve: %v, want %s (it learns nothing of the seq)", err, EFORBIDDEN)
	}
	current := stale
	current.IfMatch = s.tk.Seq
	s.must(Input{Action: &current})
	s.want(StateRefunding, "")
}
