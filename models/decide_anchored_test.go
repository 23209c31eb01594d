package models

import (
	"strings"
	"testing"
)

// The findings of the money review, each as the provider behaved: every story
// runs under RulesMoneyAnchored, where the rule holds, and under the rules
// before it, where the story shows the defect (so the story is known to catch
// it). The figures checked are the request, the order's paid amount and what
// the provider paid, never the ticket's own cap.

// buyerHolds is what the provider moved to the buyer net, from the statuses the
// story's provider reported: refunds and repayments paid, less charge backs.
func buyerHolds(m Money) int64 {
	var n int64
	for _, r := range m {
		if r.Status != RefundSucceeded {
			continue
		}
		switch r.Purpose {
		case PurposeRefund, PurposeRepayment:
			n += r.AmountCents
		case PurposeRecovery, PurposeOverpaid:
			n -= r.AmountCents
		}
	}
	return n
}

// Paid twice on one ticket: a lightning refund of 5 000 whose key the provider
// confirmed void pays after all; the goods arrive. The buyer must hold 5 000.
func TestAnchoredLateSuccessNeverRaisesTheCeiling(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		c := CreateTicket{BuyerCredit: 3, RequestedCents: 5000}
		pickupReturn(&c)
		s := newStoryUnder(t, rules, c, func(p *Policy) { p.LightningRefund.Enabled = true })
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.courier(CourierPickedUp)
		key1 := s.last(EffectMoveMoney)
		s.answer(key1, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed}) // confirmed: void
		s.pay(key1.Key, RefundSucceeded)                                        // and yet it pays
		seen := len(s.effects)
		s.courier(CourierDelivered)
		if s.tk.State == StateAwaitingInspection {
			s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		}
		// Every charge back fails and is confirmed void; every refund pays.
		for i := 0; i < 10 && !s.tk.State.Terminal(); i++ {
			for ; seen < len(s.effects); seen++ {
				e := s.effects[seen]
				switch {
				case e.Kind == EffectMoveMoney && e.Purpose == PurposeOverpaid:
					_ = s.try(Input{Result: &EffectResult{Effect: e, Status: RefundFailed}})
				case e.Kind == EffectLookupMoney && e.Purpose == PurposeOverpaid:
					_ = s.try(Input{Result: &EffectResult{Effect: e, Status: RefundFailed}})
				case e.Kind == EffectMoveMoney || e.Kind == EffectLookupMoney:
					_ = s.try(Input{Result: &EffectResult{Effect: e, Status: RefundSucceeded}})
				}
			}
			if s.tk.State == StateEscalated {
				// The buyer answered and the platform did not: the escalation's
				// automatic verdict.
				s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, Automatic: true}})
				continue
			}
			if s.tk.Deadline != nil && !s.tk.State.Terminal() {
				s.pass(s.tk.Deadline.Name)
			}
		}
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		if got := buyerHolds(s.tk.Refunds); got != 5000 {
			t.Fatalf("the buyer holds %d for a request of 5000: %+v", got, s.tk.Refunds)
		}
		s.want(StateCompleted, OutcomeRefunded)
	})
	t.Run("before", func(t *testing.T) {
		// The sequence: the late success is charged back, inspection
		// raises the cap to paid + amount, the charge back is void, refund_by pays
		// key 3.
		c := CreateTicket{BuyerCredit: 3, RequestedCents: 5000}
		pickupReturn(&c)
		s := newStoryUnder(t, 0, c, func(p *Policy) { p.LightningRefund.Enabled = true })
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.courier(CourierPickedUp)
		key1 := s.last(EffectMoveMoney)
		s.answer(key1, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.pay(key1.Key, RefundSucceeded)
		back := s.last(EffectMoveMoney)
		s.courier(CourierDelivered)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass})
		s.answer(back, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.pass("refund_by")
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
		if got := buyerHolds(s.tk.Refunds); got != 10000 {
			t.Fatalf("the rules before held the buyer at %d; the story no longer shows the double payment", got)
		}
	})
}

// Paid twice across tickets of one order: A's key was confirmed void (the
// ledger gave its room back), B was paid the whole order, and A's key pays
// after all. The ledger reports how far A's key took the order over; A charges
// that back.
func TestAnchoredOrderOverChargedBack(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindRefundOnly}, func(p *Policy) { p.RefundAttempts = 1 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		a1 := s.last(EffectMoveMoney)
		s.answer(a1, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.want(StateEscalated, "") // refund_attempts voided keys: the platform decides
		// Meanwhile ticket B of the order was paid 10 000; A's key then pays, and the
		// ledger, asked by key, says it took the order 10 000 over.
		seen := len(s.effects)
		s.pay(a1.Key, RefundSucceeded)
		for _, e := range s.effects[seen:] {
			if e.Kind == EffectLookupMoney && e.Key == a1.Key {
				s.answer(e, EffectResult{Status: RefundSucceeded, OrderOverCents: 10000})
			}
		}
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		back := s.last(EffectMoveMoney)
		if back.Purpose != PurposeOverpaid || back.AmountCents != 10000 {
			t.Fatalf("no charge back of the 10000 the order went over: %+v", back)
		}
		s.answer(back, EffectResult{Status: RefundSucceeded})
		if got := buyerHolds(s.tk.Refunds); got != 0 {
			t.Fatalf("ticket A's buyer holds %d on top of B's 10000: %+v", got, s.tk.Refunds)
		}
		if s.tk.State != StateCompleted && s.tk.State != StateClosed {
			t.Fatalf("ticket in %s after the charge back", s.tk.State)
		}
	})
	t.Run("before", func(t *testing.T) {
		s := run(t, 0)
		for _, e := range s.effects {
			if e.Kind == EffectMoveMoney && e.Purpose == PurposeOverpaid {
				t.Fatal("the rules before charged back; the story no longer shows the order over-refunded")
			}
		}
	})
}

// A provider's final refusal (a 422) voids the key at once: new keys up to
// refund_attempts, then the platform, which reconciles the key; the ticket ends.
func TestAnchoredRefusalNeverLoops(t *testing.T) {
	refused := EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422: account closed"}
	t.Run("anchored", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		for range s.p.RefundAttempts {
			s.answer(s.last(EffectMoveMoney), refused)
		}
		s.want(StateEscalated, "")
		if n := len(s.tk.Refunds); n != s.p.RefundAttempts {
			t.Fatalf("%d keys for %d attempts: %+v", n, s.p.RefundAttempts, s.tk.Refunds)
		}
		for _, r := range s.tk.Refunds {
			if r.Status != RefundVoid {
				t.Fatalf("refused key %s is %s, not void", r.Key, r.Status)
			}
		}
		for _, e := range s.effects {
			if e.Kind == EffectLookupMoney {
				t.Fatalf("a refused key was looked up: %+v", e)
			}
		}
		last := s.tk.Refunds[len(s.tk.Refunds)-1].Key
		// The platform paid it by hand and says so from the provider's console.
		s.act(RolePlatform, ActReconcile, ActionBody{Key: last, Status: RefundSucceeded, Note: "paid manually, console ref 77"})
		rec := s.last(EffectRecordMoney)
		if rec.Key != last || rec.Status != RefundSucceeded {
			t.Fatalf("the ledger is not told: %+v", rec)
		}
		s.answer(rec, EffectResult{Status: RefundSucceeded})
		s.want(StateCompleted, OutcomeRefunded)
		if got := buyerHolds(s.tk.Refunds); got != 10000 {
			t.Fatalf("buyer holds %d, want the 10000 requested", got)
		}
		if n := len(s.tk.Timeline); n > 20 {
			t.Fatalf("%d timeline entries for three refusals and a reconcile", n)
		}
	})
	t.Run("before", func(t *testing.T) {
		s := newStoryUnder(t, 0, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		key := s.last(EffectMoveMoney).Key
		// Refused, looked up (never seen), sent again, refused ... for ever.
		for range 20 {
			s.answer(Effect{Kind: EffectMoveMoney, Key: key, Purpose: PurposeRefund, AmountCents: 10000}, refused)
			s.answer(s.last(EffectLookupMoney), EffectResult{})
		}
		if s.tk.State != StateRefunding || s.tk.Refunds[0].Status == RefundVoid {
			t.Fatalf("the rules before ended the loop (%s, %+v); the story no longer shows it", s.tk.State, s.tk.Refunds)
		}
	})
}

// A verdict given while a charge back is in flight: the award is measured from
// what the buyer holds once the charge back lands, so the buyer is not short.
func TestAnchoredVerdictDuringChargeBack(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindRefundOnly, RequestedCents: 6000,
			Order: OrderInfo{PaidCents: 20000}}, nil)
		s.act(RoleSeller, ActOffer, ActionBody{RefundCents: ptr[int64](3000), KeepItem: true})
		s.act(RoleBuyer, ActAcceptOffer, ActionBody{})
		k1 := s.last(EffectMoveMoney)
		s.answer(k1, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed}) // void: key 2 goes out
		k2 := s.last(EffectMoveMoney)
		s.pay(k1.Key, RefundSucceeded) // key 1 paid after all
		s.answer(k2, EffectResult{Status: RefundSucceeded})
		back := s.last(EffectMoveMoney)
		if back.Purpose != PurposeOverpaid || back.AmountCents != 3000 {
			t.Fatalf("no charge back of the 3000 paid twice: %+v", back)
		}
		s.answer(back, EffectResult{Status: RefundFailed}) // not confirmed yet: in flight
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "I was promised more"})
		s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](2000)})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundSucceeded}) // the charge back lands
		for s.tk.State == StateRefunding && s.last(EffectMoveMoney).Purpose == PurposeRefund &&
			s.tk.Refunds[len(s.tk.Refunds)-1].Status == RefundPending {
			s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
		}
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		if got := buyerHolds(s.tk.Refunds); got != 5000 {
			t.Fatalf("buyer holds %d; the offer's 3000 and the award's 2000 make 5000: %+v", got, s.tk.Refunds)
		}
		s.want(StateCompleted, OutcomePartiallyRefunded)
	})
	t.Run("before", func(t *testing.T) {
		if got := buyerHolds(run(t, 0).tk.Refunds); got != 3000 {
			t.Fatalf("the rules before left the buyer at %d; the story no longer shows them short", got)
		}
	})
}

// After the platform's order, a refund the provider never confirms does not
// wait for ever: after refund_attempts refund_by deadlines the platform is
// called in again, with the key named.
func TestAnchoredWaitAfterVerdictIsBounded(t *testing.T) {
	run := func(t *testing.T, rules int) *story {
		s := newStoryUnder(t, rules, CreateTicket{Kind: KindRefundOnly}, func(p *Policy) { p.RefundAttempts = 1 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.want(StateEscalated, "")
		s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](10000)})
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSent}) // and never a word more
		for range 6 {
			if s.tk.State != StateRefunding {
				break
			}
			s.pass("refund_by")
		}
		return s
	}
	t.Run("anchored", func(t *testing.T) {
		s := run(t, RulesMoneyAnchored)
		s.want(StateEscalated, "")
		if !strings.Contains(s.tk.Escalation.Reason, ":refund:2") {
			t.Fatalf("the escalation does not name the key: %q", s.tk.Escalation.Reason)
		}
	})
	t.Run("before", func(t *testing.T) {
		if s := run(t, 0); s.tk.State != StateRefunding {
			t.Fatalf("the rules before stopped waiting (%s); the story no longer shows it", s.tk.State)
		}
	})
}

// The reconcile action is the platform's, names a key of the ticket, moves it
// forwards only, and says where the status was seen.
func TestReconcileChecks(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	key := s.last(EffectMoveMoney).Key
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	cases := []struct {
		name string
		role Role
		body ActionBody
		code string
	}{
		{"seller", RoleSeller, ActionBody{Key: key, Status: RefundVoid, Note: "x"}, EFORBIDDEN},
		{"unknown key", RolePlatform, ActionBody{Key: "T1:refund:9", Status: RefundVoid, Note: "x"}, EINVALID},
		{"bad status", RolePlatform, ActionBody{Key: key, Status: RefundFailed, Note: "x"}, EINVALID},
		{"no note", RolePlatform, ActionBody{Key: key, Status: RefundSucceeded}, EINVALID},
		{"backwards", RolePlatform, ActionBody{Key: key, Status: RefundVoid, Note: "console says void"}, ECONFLICT},
	}
	for _, c := range cases {
		err := s.try(Input{Action: &ActionRequest{Action: ActReconcile, Actor: subjects[c.role], Role: c.role, Body: c.body}})
		if ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}
