package models

import (
	"strings"
	"testing"
)

// The findings of the reference model of the money (money_reference_test.go),
// each as the shortest story that showed it, under RulesMoneyAnchored. The
// figures checked are the request, the award, what the order paid and what the
// provider paid (buyerHolds), never the ticket's own cap.

// effectsSince returns the effects of kind asked for after the first seen.
func (s *story) effectsSince(seen int, kind EffectKind) []Effect {
	var out []Effect
	for _, e := range s.effects[seen:] {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// The platform reconciles a key whose reservation in the ledger never ran (its
// call was still retrying): the ledger answers record_money with not found, and
// the ticket asked it again after every answer, for ever.
// Minimal sequence: approve; reconcile refund:1 void; record_money not found, again and again.
func TestRefmodelReconcileOfAKeyTheLedgerNeverHeldEnds(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	key := s.last(EffectMoveMoney).Key // never answered
	s.act(RolePlatform, ActReconcile, ActionBody{Key: key, Status: RefundVoid, Note: "not in the console"})
	asked := 0
	for range 20 {
		recs := s.effectsSince(0, EffectRecordMoney)
		if len(recs) == asked {
			break
		}
		asked = len(recs)
		s.answer(recs[len(recs)-1], EffectResult{Failed: true, Code: ENOTFOUND, Reason: "refund " + key + " not found"})
	}
	if asked > s.p.RefundAttempts {
		t.Fatalf("record_money asked %d times for a key the ledger never held (refund_attempts %d)", asked, s.p.RefundAttempts)
	}
	if st := s.tk.Refunds[0].Status; st != RefundVoid {
		t.Fatalf("the platform's void is not recorded in the ticket: %s", st)
	}
}

// A verdict for the buyer that awards nothing more (refund_cents 0) with nothing
// owed in flight kept the ceiling of the request: the key voided before the
// verdict that paid after it was kept by the buyer, past the award.
// Minimal sequence (refund_attempts 1): approve; refund:1 failed; lookup failed
// (void, escalated); arbitrate support_buyer 0 (completed, compensated); refund:1 succeeded.
func TestRefmodelNothingMoreAwardedIsTheCeiling(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, func(p *Policy) { p.RefundAttempts = 1 })
	s.act(RoleSeller, ActApprove, ActionBody{})
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Status: RefundFailed})
	s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
	s.want(StateEscalated, "")
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](0)})
	s.want(StateCompleted, OutcomeCompensated)
	seen := len(s.effects)
	s.pay(k1.Key, RefundSucceeded) // and yet it pays
	for _, e := range s.effectsSince(seen, EffectLookupMoney) {
		s.answer(e, EffectResult{Status: RefundSucceeded})
	}
	backs := s.effectsSince(seen, EffectMoveMoney)
	if len(backs) != 1 || backs[0].Purpose != PurposeOverpaid || backs[0].AmountCents != 10000 {
		t.Fatalf("the 10000 paid past an award of nothing more is not charged back: %+v", backs)
	}
	s.answer(backs[0], EffectResult{Status: RefundSucceeded})
	if got := buyerHolds(s.tk.Refunds); got != 0 {
		t.Fatalf("the buyer holds %d after a verdict that awarded nothing: %+v", got, s.tk.Refunds)
	}
}

// A key given up on pays after all beside the key that replaced it; the ledger
// says the late key took the order over by its amount (the replacement held the
// room). That is the same 10000 as the excess over the request: it was charged
// back twice, and the buyer was left with nothing.
// Minimal sequence: approve; refund:1 failed; lookup failed (void); refund:2
// succeeded; refund:1 succeeded; lookup: succeeded, order over by 10000.
func TestRefmodelOrderOverAndCeilingChargedBackOnce(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Status: RefundFailed})
	s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	s.want(StateCompleted, OutcomeRefunded)
	seen := len(s.effects)
	s.pay(k1.Key, RefundSucceeded)
	for _, e := range s.effectsSince(seen, EffectLookupMoney) {
		s.answer(e, EffectResult{Status: RefundSucceeded, OrderOverCents: 10000})
	}
	for _, e := range s.effectsSince(seen, EffectMoveMoney) {
		s.answer(e, EffectResult{Status: RefundSucceeded})
	}
	if got := buyerHolds(s.tk.Refunds); got != 10000 {
		t.Fatalf("the buyer holds %d of the 10000 requested and paid for: %+v", got, s.tk.Refunds)
	}
}

// The platform awarded the whole order (9 900) to a ticket that asked for
// 4 900; another ticket had been refunded meanwhile. The key voided before the
// verdict paid after all and the ledger said it took the order over by its
// 4 900: that was measured against the award, 9 900 less 4 900, and not charged
// back, leaving the order over what was paid.
// Minimal sequence (order paid 9900, request 4900, refund_attempts 1): approve;
// refund:1 refused (void, escalated); arbitrate support_buyer 9900; refund:1
// succeeded; lookup: succeeded, order over by 4900.
func TestRefmodelOrderOverBeyondTheAwardChargedBack(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 4900, Order: OrderInfo{PaidCents: 9900}},
		func(p *Policy) { p.RefundAttempts = 1 })
	s.act(RoleSeller, ActApprove, ActionBody{})
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"})
	s.want(StateEscalated, "")
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](9900)})
	k2 := s.last(EffectMoveMoney)
	seen := len(s.effects)
	s.pay(k1.Key, RefundSucceeded)
	for _, e := range s.effectsSince(seen, EffectLookupMoney) {
		s.answer(e, EffectResult{Status: RefundSucceeded, OrderOverCents: 4900})
	}
	backs := s.effectsSince(seen, EffectMoveMoney)
	if len(backs) != 1 || backs[0].Purpose != PurposeOverpaid || backs[0].AmountCents != 4900 {
		t.Fatalf("the 4900 the ledger says went over the order is not charged back: %+v", backs)
	}
	// Refund 2, in flight, is refused by the ledger: the order has no room.
	s.answer(k2, EffectResult{Failed: true, Code: ECONFLICT, Reason: "the order's refunds would pass what was paid"})
	s.answer(backs[0], EffectResult{Status: RefundSucceeded})
	if got := buyerHolds(s.tk.Refunds); got != 0 {
		t.Fatalf("the buyer holds %d of an order the other ticket's refund took: %+v", got, s.tk.Refunds)
	}
}

// The platform reconciles a key as paid: the ticket used to record it at once
// and charge back what it held past the request before the ledger recorded the
// key, and the ledger then measured how far the order went over with that
// charge back's room already given back to another ticket, counting the same
// money twice in the other direction. The ticket now records the key with the
// ledger's answer, whose word on the order is measured before any charge back.
// Minimal sequence: approve; refund:1 refused (void); refund:2 succeeded;
// reconcile refund:1 succeeded; record_money: succeeded, order over by 10000.
func TestRefmodelReconcileRecordedWithTheLedgersAnswer(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"})
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	s.want(StateCompleted, OutcomeRefunded)
	seen := len(s.effects)
	s.act(RolePlatform, ActReconcile, ActionBody{Key: k1.Key, Status: RefundSucceeded, Note: "paid, console ref 12"})
	if backs := s.effectsSince(seen, EffectMoveMoney); len(backs) > 0 || s.tk.Refunds[0].Status != RefundVoid {
		t.Fatalf("the reconciled status is applied before the ledger recorded it: %+v %+v", backs, s.tk.Refunds)
	}
	s.answer(s.last(EffectRecordMoney), EffectResult{Status: RefundSucceeded, OrderOverCents: 10000})
	backs := s.effectsSince(seen, EffectMoveMoney)
	if len(backs) != 1 || backs[0].Purpose != PurposeOverpaid || backs[0].AmountCents != 10000 {
		t.Fatalf("want one charge back of 10000: %+v", backs)
	}
	s.answer(backs[0], EffectResult{Status: RefundSucceeded})
	if got := buyerHolds(s.tk.Refunds); got != 10000 {
		t.Fatalf("the buyer holds %d of the 10000 requested: %+v", got, s.tk.Refunds)
	}
}

// A lightning refund written off while its recovery charge is in flight: the
// escalation's automatic verdict for the buyer measured what is still
// refundable without the charge back in flight, so it awarded the order's paid
// amount less the refund the recovery was taking back, and when the recovery
// landed the buyer was short of the request.
// Minimal sequence (order paid 10000, request 6000, lightning): approve; picked
// up; refund:1 succeeded; arrive_by (recovery sent); recover_by (escalated);
// automatic verdict support_buyer; recovery succeeded.
func TestRefmodelAutomaticVerdictCountsTheRecoveryInFlight(t *testing.T) {
	c := CreateTicket{BuyerCredit: 3, RequestedCents: 6000}
	pickupReturn(&c)
	s := newStory(t, c, func(p *Policy) { p.LightningRefund.Enabled = true })
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.courier(CourierPickedUp)
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	s.pass("arrive_by")
	rec := s.last(EffectMoveMoney)
	if rec.Purpose != PurposeRecovery {
		t.Fatalf("no recovery: %+v", rec)
	}
	s.answer(rec, EffectResult{Status: RefundSent})
	s.pass("recover_by")
	s.want(StateEscalated, "")
	s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, Automatic: true}})
	seen := len(s.effects)
	s.pay(rec.Key, RefundSucceeded) // the recovery lands
	for i := 0; i < 5 && !s.tk.State.Terminal(); i++ {
		for _, e := range s.effectsSince(seen, EffectMoveMoney) {
			if e.Purpose == PurposeRefund {
				s.answer(e, EffectResult{Status: RefundSucceeded})
			}
		}
		seen = len(s.effects)
	}
	if got := buyerHolds(s.tk.Refunds); got != 6000 {
		t.Fatalf("the buyer holds %d after a verdict for the buyer's 6000: %+v", got, s.tk.Refunds)
	}
}

// The buyer's claim, on which the escalation's automatic verdict for the buyer
// rests, counted money paid past the ceiling (an overpayment whose charges
// back failed) as rightly refunded, while the verdict added the claim to what
// is rightly held under the ceiling: the buyer's request came out short, and
// the overpayment went on being charged back.
// Minimal sequence (order paid 20000, request 10000, refund_attempts 2):
// approve; refund:1 and refund:2 refused
// (escalated); arbitrate support_buyer 4000; refund:3 failed, looked up failed
// (void); refund:3 succeeded after all; refund:4 succeeded; both charges back
// refused (escalated, overpaid by 4000); automatic verdict support_buyer.
func TestRefmodelBuyersClaimMeasuredAsTheVerdictMeasures(t *testing.T) {
	refused := EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"}
	s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 10000, Order: OrderInfo{PaidCents: 20000}},
		func(p *Policy) { p.RefundAttempts = 2 })
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.answer(s.last(EffectMoveMoney), refused)
	s.answer(s.last(EffectMoveMoney), refused)
	s.want(StateEscalated, "")
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](4000)})
	k3 := s.last(EffectMoveMoney)
	s.answer(k3, EffectResult{Status: RefundFailed})
	s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
	k4 := s.last(EffectMoveMoney)
	s.pay(k3.Key, RefundSucceeded)
	s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundSucceeded})
	s.answer(k4, EffectResult{Status: RefundSucceeded})
	for range 2 {
		back := s.last(EffectMoveMoney)
		if back.Purpose != PurposeOverpaid {
			t.Fatalf("no charge back of the 4000 paid twice: %+v", back)
		}
		s.answer(back, refused)
	}
	s.want(StateEscalated, "")
	seen := len(s.effects)
	s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, Automatic: true}})
	moves := s.effectsSince(seen, EffectMoveMoney)
	if len(moves) != 1 || moves[0].Purpose != PurposeRefund || moves[0].AmountCents != 2000 {
		t.Fatalf("the verdict for the buyer's request of 10000 (8000 held) should refund 2000: %+v", moves)
	}
	s.answer(moves[0], EffectResult{Status: RefundSucceeded})
	if got := buyerHolds(s.tk.Refunds); got != 10000 {
		t.Fatalf("the buyer holds %d after the verdict for the request of 10000: %+v", got, s.tk.Refunds)
	}
	s.want(StateCompleted, OutcomeRefunded)
}

// A lightning refund the provider refused pays after all; meanwhile another
// ticket of the order was refunded the whole order, and the goods never arrive:
// the recovery charge starts, and the ledger says the late key took the order
// over by its amount, which the recovery in flight would take back. The
// provider refuses the recovery: nothing charged the excess back, and the
// order stayed over until the platform's verdict, if any.
// Minimal sequence (lightning): approve; picked up; refund:1 refused (void);
// refund:1 succeeded; arrive_by (recovery); lookup of refund:1: succeeded, order
// over by 10000; recovery refused.
func TestRefmodelRefusedRecoveryChargesTheOrderOverBack(t *testing.T) {
	c := CreateTicket{BuyerCredit: 3}
	pickupReturn(&c)
	s := newStory(t, c, func(p *Policy) { p.LightningRefund.Enabled = true })
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.courier(CourierPickedUp)
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"})
	s.pay(k1.Key, RefundSucceeded) // paid after all
	look := s.last(EffectLookupMoney)
	s.pass("arrive_by")
	rec := s.last(EffectMoveMoney)
	if rec.Purpose != PurposeRecovery {
		t.Fatalf("no recovery: %+v", rec)
	}
	s.answer(look, EffectResult{Status: RefundSucceeded, OrderOverCents: 10000})
	seen := len(s.effects)
	s.answer(rec, EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"})
	backs := s.effectsSince(seen, EffectMoveMoney)
	if len(backs) != 1 || backs[0].Purpose != PurposeOverpaid || backs[0].AmountCents != 10000 {
		t.Fatalf("the 10000 over the order is not charged back once the recovery is refused: %+v", backs)
	}
}

// Goods written off, the recovery paid, the platform awards 4 000; then the
// goods arrive after all and the recovery is repaid. The repayment was charged
// back as an overpayment against the award's ceiling, or (the ceiling raised)
// what the buyer then held past the request was never charged back.
// Minimal sequence (lightning): approve; picked up; refund:1 succeeded;
// arrive_by (recovery sent); recover_by (escalated); recovery succeeded;
// arbitrate support_buyer 4000; refund:3 succeeded; delivered (repayment);
// repayment succeeded.
func TestRefmodelRepaidRecoveryAfterAnAward(t *testing.T) {
	c := CreateTicket{BuyerCredit: 3}
	pickupReturn(&c)
	s := newStory(t, c, func(p *Policy) { p.LightningRefund.Enabled = true })
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.courier(CourierPickedUp)
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	s.pass("arrive_by")
	rec := s.last(EffectMoveMoney)
	s.answer(rec, EffectResult{Status: RefundSent})
	s.pass("recover_by")
	s.want(StateEscalated, "")
	s.pay(rec.Key, RefundSucceeded)
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](4000)})
	s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
	s.courier(CourierDelivered)
	rep := s.last(EffectMoveMoney)
	if rep.Purpose != PurposeRepayment || rep.AmountCents != 10000 {
		t.Fatalf("the recovery is not repaid: %+v", rep)
	}
	seen := len(s.effects)
	s.answer(rep, EffectResult{Status: RefundSucceeded})
	backs := s.effectsSince(seen, EffectMoveMoney)
	if len(backs) != 1 || backs[0].Purpose != PurposeOverpaid || backs[0].AmountCents != 4000 {
		t.Fatalf("want the 4000 held past the request of 10000 charged back: %+v", backs)
	}
	s.answer(backs[0], EffectResult{Status: RefundSucceeded})
	if got := buyerHolds(s.tk.Refunds); got != 10000 {
		t.Fatalf("the buyer holds %d for goods returned against a request of 10000: %+v", got, s.tk.Refunds)
	}
}

// The platform awarded 4 900 of a request of 9 900; the key given up on paid
// after all while its replacement was in flight, and the platform was called in
// again. The escalation's automatic verdict for the buyer capped the buyer's
// claim by what was still refundable counting the replacement in flight, which
// the verdict itself did not count as owed: the award came out at 1 cent, and
// when the replacement paid, it was charged back.
// Minimal sequence (order paid 9900, refund_attempts 2): reject; escalate;
// arbitrate support_buyer 4900; refund:1 failed, looked up failed (void,
// refund:2 sent); refund:1 succeeded; refund_by three times (escalated);
// automatic verdict support_buyer; refund:2 succeeded.
func TestRefmodelClaimNotCappedByAReplacementInFlight(t *testing.T) {
	s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 9900, Order: OrderInfo{PaidCents: 9900}},
		func(p *Policy) { p.RefundAttempts = 2 })
	s.act(RoleSeller, ActReject, ActionBody{Reason: "no defect"})
	s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "there is"})
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](4900)})
	k1 := s.last(EffectMoveMoney)
	s.answer(k1, EffectResult{Status: RefundFailed})
	s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
	k2 := s.last(EffectMoveMoney)
	s.answer(k2, EffectResult{Status: RefundSent})
	s.pay(k1.Key, RefundSucceeded)
	for range 3 {
		if s.tk.State == StateRefunding {
			s.pass("refund_by")
		}
	}
	s.want(StateEscalated, "")
	s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, Automatic: true}})
	seen := len(s.effects)
	s.pay(k2.Key, RefundSucceeded)
	for i := 0; i < 5 && !s.tk.State.Terminal(); i++ {
		for _, e := range s.effectsSince(seen, EffectMoveMoney) {
			s.answer(e, EffectResult{Status: RefundSucceeded})
		}
		seen = len(s.effects)
	}
	if got := buyerHolds(s.tk.Refunds); got != 9900 {
		t.Fatalf("the buyer holds %d after a verdict for the request of 9900: %+v", got, s.tk.Refunds)
	}
}

// A charge back the provider refused took the money after all, beside the charge
// back that replaced it: the buyer was charged twice, and nothing paid it back.
// Minimal sequence (request 5000, order paid 10000): approve; refund:1 failed,
// looked up failed (void); refund:2 paid (completed); refund:1 pays after all;
// overpayment refund:3 refused; overpayment refund:4 paid; refund:3 paid after all.
// The buyer is repaid what was taken twice; a repayment refused is paid under a
// new key, and after refund_attempts refusals the platform is told the amount.
func TestRefmodelChargeBackTakenAfterRefusalIsRepaid(t *testing.T) {
	refused := EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"}
	for _, repaymentRefused := range []bool{false, true} {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly, RequestedCents: 5000}, func(p *Policy) { p.RefundAttempts = 2 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		k1 := s.last(EffectMoveMoney)
		s.answer(k1, EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundFailed})
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
		s.want(StateCompleted, OutcomeRefunded)
		s.pay(k1.Key, RefundSucceeded)
		s.answer(s.last(EffectLookupMoney), EffectResult{Status: RefundSucceeded})
		k3 := s.last(EffectMoveMoney)
		if k3.Purpose != PurposeOverpaid || k3.AmountCents != 5000 {
			t.Fatalf("no charge back of the 5000 paid twice: %+v", k3)
		}
		s.answer(k3, refused)
		s.answer(s.last(EffectMoveMoney), EffectResult{Status: RefundSucceeded})
		if got := buyerHolds(s.tk.Refunds); got != 5000 {
			t.Fatalf("after one charge back the buyer holds %d, want the request's 5000", got)
		}
		s.pay(k3.Key, RefundSucceeded) // the refused charge back took the money after all
		repay := s.last(EffectMoveMoney)
		if repay.Purpose != PurposeRepayment || repay.AmountCents != 5000 {
			t.Fatalf("what was taken twice is not paid back: %+v", repay)
		}
		if !repaymentRefused {
			s.answer(repay, EffectResult{Status: RefundSucceeded})
			if got := buyerHolds(s.tk.Refunds); got != 5000 {
				t.Fatalf("the buyer holds %d, want the request's 5000: %+v", got, s.tk.Refunds)
			}
			continue
		}
		s.answer(repay, refused)
		again := s.last(EffectMoveMoney)
		if again.Purpose != PurposeRepayment || again.Key == repay.Key || again.AmountCents != 5000 {
			t.Fatalf("a refused repayment is not paid again under a new key: %+v", again)
		}
		s.answer(again, refused)
		told := s.last(EffectNotify)
		if told.To != RolePlatform || !strings.Contains(told.Message, "5000 cents to pay back to the buyer") {
			t.Fatalf("the platform is not told what could not be paid back: %+v", told)
		}
		if n := len(s.effectsSince(0, EffectMoveMoney)); n != 6 {
			t.Fatalf("%d money movements; after refund_attempts refused repayments nothing more is sent", n)
		}
	}
}

// The escalation's automatic verdict for a buyer who answered awards the claim,
// which the order's room cannot hold (another ticket was refunded): the ledger
// refused the refund, the ticket escalated again for the same reason, the same
// verdict followed, for ever. Now it pays again at refund_by (the room may come
// back) and, after refund_attempts refusals, ends with what the buyer holds and
// tells the platform what of the award went unpaid.
// Minimal sequence (refund_attempts 2): approve; refund:1 and refund:2 refused
// (escalated); automatic verdict support_buyer; refund:3 refused by the ledger.
func TestRefmodelAutomaticVerdictTheLedgerRefusesEnds(t *testing.T) {
	refused := EffectResult{Failed: true, Code: RefusedByProvider, Reason: "payment API answered 422"}
	noRoom := EffectResult{Failed: true, Code: ECONFLICT, Reason: "refunds of order o-1 would total 20000 cents, more than the 10000 cents paid"}
	for _, roomComesBack := range []bool{false, true} {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, func(p *Policy) { p.RefundAttempts = 2 })
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.answer(s.last(EffectMoveMoney), refused)
		s.answer(s.last(EffectMoveMoney), refused)
		s.want(StateEscalated, "")
		s.must(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, Automatic: true}})
		k3 := s.last(EffectMoveMoney)
		s.answer(k3, noRoom)
		s.want(StateRefunding, "")
		if s.tk.Escalations != 1 {
			t.Fatalf("escalated %d times; a refusal of the automatic verdict's refund goes back to nobody", s.tk.Escalations)
		}
		s.pass("refund_by")
		k4 := s.last(EffectMoveMoney)
		if k4.Key == k3.Key || k4.AmountCents != 10000 {
			t.Fatalf("at refund_by the award is not paid again under a new key: %+v", k4)
		}
		if roomComesBack {
			s.answer(k4, EffectResult{Status: RefundSucceeded})
			s.want(StateCompleted, OutcomeRefunded)
			if got := buyerHolds(s.tk.Refunds); got != 10000 {
				t.Fatalf("the buyer holds %d, want the award of 10000", got)
			}
			continue
		}
		s.answer(k4, noRoom)
		s.want(StateCompleted, OutcomePartiallyRefunded)
		told := s.last(EffectNotify)
		if told.To != RolePlatform || !strings.Contains(told.Message, "10000 cents of the award unpaid") {
			t.Fatalf("the platform is not told what of its award went unpaid: %+v", told)
		}
	}
}

// A provider that reports failed after it reported a refund succeeded: an old
// report delivered late, or the money came back (a bank returned it). The
// ticket asked nobody and dropped the report, so a refund reversed after the
// end left the buyer with nothing. Now the ticket asks the provider by key: a
// stale report changes nothing; a reversal is recorded (reversed, in the
// ledger first, then the ticket) and the refund is paid again under a new key.
func TestRefmodelFailureAfterSuccessIsAskedAndAReversalPaidAgain(t *testing.T) {
	for _, reversed := range []bool{false, true} {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActApprove, ActionBody{})
		k1 := s.last(EffectMoveMoney)
		s.answer(k1, EffectResult{Status: RefundSucceeded})
		s.want(StateCompleted, OutcomeRefunded)
		s.pay(k1.Key, RefundFailed)
		look := s.last(EffectLookupMoney)
		if look.Key != k1.Key {
			t.Fatalf("a failure reported after the success is not looked up: %+v", look)
		}
		if !reversed {
			s.answer(look, EffectResult{Status: RefundSucceeded})
			if n := len(s.effectsSince(0, EffectMoveMoney)); n != 1 || buyerHolds(s.tk.Refunds) != 10000 {
				t.Fatalf("a stale failure moved money: %d movements, the buyer holds %d", n, buyerHolds(s.tk.Refunds))
			}
			continue
		}
		s.answer(look, EffectResult{Status: RefundFailed})
		rec := s.last(EffectRecordMoney)
		if rec.Key != k1.Key || rec.Status != RefundReversed {
			t.Fatalf("the reversal is not recorded in the ledger first: %+v", rec)
		}
		if n := len(s.effectsSince(0, EffectMoveMoney)); n != 1 {
			t.Fatalf("a new key before the ledger holds the reversal: %d movements", n)
		}
		s.answer(rec, EffectResult{Status: RefundReversed})
		if st := s.tk.Refunds[0].Status; st != RefundReversed || s.tk.RefundedCents != 0 {
			t.Fatalf("the reversal is not recorded: %s, refunded %d", st, s.tk.RefundedCents)
		}
		k2 := s.last(EffectMoveMoney)
		if k2.Key == k1.Key || k2.Purpose != PurposeRefund || k2.AmountCents != 10000 {
			t.Fatalf("the reversed refund is not paid again under a new key: %+v", k2)
		}
		s.answer(k2, EffectResult{Status: RefundSucceeded})
		if got := buyerHolds(s.tk.Refunds); got != 10000 {
			t.Fatalf("the buyer holds %d, want the request's 10000", got)
		}
		s.want(StateCompleted, OutcomeRefunded)
	}
}
