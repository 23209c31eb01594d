package models

import (
	"fmt"
	"strings"
)

// The answers of money effects under RulesMoneyAnchored (DESIGN.md §2, money
// rules measured against outside truth):
//   - a provider's final refusal voids the key at once: settle then issues a new
//     key, or escalates after refund_attempts voided keys, never a loop;
//   - a key that stays unanswered (the call gave up, the provider still says
//     sent, or never saw it) is looked up with backoff (the workflow paces it),
//     and after refund_attempts such calls in a row a refunding ticket escalates
//     with the key named, an ended one tells the platform;
//   - the ledger's word that this key took the order over what was paid lowers
//     what the ticket may hold (Money.Allowed), and the excess is charged back.

// moneyResult applies what a money effect came to.
func (d *decision) moneyResult(r EffectResult) error {
	e := r.Effect
	i := d.t.Refunds.Find(e.Key)
	if d.orderOver(i, r.OrderOverCents) {
		defer d.chargeOverpayment()
	}
	status := d.t.Refunds[i].Status
	switch {
	case e.Kind == EffectRecordMoney:
		if r.Failed && !(r.Code == ENOTFOUND && d.anchored()) {
			// The ledger must hold what the platform reconciled: asked again.
			d.system("ledger_not_updated", e.Key+": "+r.Reason)
			d.do(e)
			return nil
		}
		if r.Failed {
			// The ledger holds no such key: its reservation may still be on its way
			// (the call that makes it outlived the platform's look at the console),
			// so it is asked again while refund_attempts allow. Then the ticket goes
			// on from the status the platform gave; a key the ledger never held
			// holds no room there, and of a paid one the platform is told.
			m := &d.t.Refunds[i]
			if m.Unanswered++; m.Unanswered < d.p.RefundAttempts {
				d.system("ledger_not_updated", e.Key+": "+r.Reason)
				d.do(e)
				return nil
			}
			m.Unanswered = 0
			d.system("ledger_not_updated", e.Key+": the ledger holds no such key: "+r.Reason)
			if e.Status == RefundSucceeded {
				d.do(Effect{Kind: EffectNotify, To: RolePlatform, Message: "ticket " + d.t.ID + ": " + e.Key +
					" reconciled as paid, but the refunds ledger holds no such key: the order's refunded total does not count it"})
			}
		}
		if !d.anchored() {
			return nil // recorded in the ticket when the platform reconciled it
		}
		// Recorded in the ledger (its answer says whether the order went over,
		// measured before anything of it is charged back): now the ticket goes on
		// from the status the ledger holds.
		status := r.Status
		if status == "" || r.Failed {
			status = e.Status
		}
		why := "reconciled by the platform"
		if e.Status == RefundReversed {
			why = "the provider confirmed the failure after the success"
		}
		d.moneyStatus(e.Key, status, "", why)
		return nil
	case r.Failed && r.Code == ECONFLICT && e.Kind == EffectMoveMoney:
		d.ledgerRefused(i, r)
	case r.Failed && r.Code == RefusedByProvider && e.Kind == EffectMoveMoney:
		d.moneyStatus(e.Key, RefundVoid, r.ProviderRef, "refused by the provider: "+r.Reason)
	case r.Failed:
		d.unanswered(i, r.Reason)
	case e.Kind == EffectLookupMoney && r.Status == RefundFailed && status == RefundSucceeded && d.t.Refunds[i].Contradicted:
		// Reported failed after it succeeded, and asked by key the provider says
		// failed: the money came back. The ledger records it first (it took the
		// failure alone for a stale report), so that no key paid after it is
		// measured against money that is gone; the ticket takes the reversal
		// with the ledger's answer to record_money, as a reconcile. A lookup
		// without such a report is not taken as a reversal, since a provider's
		// lookup may lag behind its own webhook.
		d.t.Refunds[i].Contradicted = false
		d.system("money_reversed", e.Key+": the provider confirms it failed after it paid; recording the reversal")
		d.do(Effect{Kind: EffectRecordMoney, Key: e.Key, Purpose: e.Purpose, AmountCents: e.AmountCents, Status: LookedUpStatus(status, r.Status)})
	case e.Kind == EffectLookupMoney && r.Status == RefundFailed:
		// Asked by key, the provider confirms the failure: it did not pay and will
		// not, so the key is void and may be replaced.
		d.t.Refunds[i].Contradicted = false
		d.moneyStatus(e.Key, RefundVoid, r.ProviderRef, r.Reason)
	case e.Kind == EffectLookupMoney && r.Status == "" && MoneyInFlight(status):
		// The provider never saw the key: the call never reached it. The same key
		// is sent again (the provider pays a key at most once); no new key.
		if d.countUnanswered(i, "the provider never received it") {
			d.system("money_resent", e.Key+": the provider never received it")
			d.do(Effect{Kind: EffectMoveMoney, Key: e.Key, Purpose: e.Purpose, AmountCents: e.AmountCents})
		}
	case e.Kind == EffectLookupMoney && r.Status == RefundSucceeded && d.t.Refunds[i].Contradicted:
		d.t.Refunds[i].Contradicted = false // the failure was an old report
		d.system("money_confirmed", e.Key+": the provider says it paid; the failure reported after it was an old report")
	case d.moneyStatus(e.Key, r.Status, r.ProviderRef, r.Reason):
		d.t.Refunds[i].Unanswered = 0
	case e.Kind == EffectLookupMoney && MoneyInFlight(status):
		// Still being paid at the provider: asked again later (the workflow paces it).
		d.unanswered(i, "the provider still has it in progress")
	}
	return nil
}

// orderOver records the ledger's word that movement i took its order over
// what was paid by over, and reports whether that is news: the excess is then
// charged back (Money.Allowed counts it).
func (d *decision) orderOver(i int, over int64) bool {
	m := &d.t.Refunds[i]
	if over <= m.OrderOverCents {
		return false
	}
	m.OrderOverCents = over
	d.system("order_over_refunded", fmt.Sprintf("%s paid %d cents past what order %s paid, after another ticket of the order was refunded",
		m.Key, over, d.t.OrderID))
	return true
}

// ledgerRefused: the ledger refused movement i's amount (the order's refunds
// would pass what was paid). Sending again, or a new key, cannot help: the key
// is void and the platform decides at once; a lightning refund refused lets the
// return go on to inspection. A provider's answer that came first stands.
func (d *decision) ledgerRefused(i int, r EffectResult) {
	ref := &d.t.Refunds[i]
	next, changed := NextMoneyStatus(ref.Status, RefundVoid)
	if !changed {
		return
	}
	ref.Status = next
	d.system(string(ref.Purpose)+"_void", ref.Key+": refused by the ledger: "+r.Reason)
	switch {
	case ref.Purpose == PurposeRepayment, ref.Purpose == PurposeRefund && d.t.State.Terminal():
		// Money owed back to the buyer (a repayment, or a refund paid again after
		// the end) whose room in the order went to another ticket meanwhile: it
		// cannot come back through this order, and the platform is told.
		action := "refund_unpaid"
		if ref.Purpose == PurposeRepayment {
			action = "repayment_unpaid"
		}
		d.tellPlatform(action, fmt.Sprintf("%d cents to pay back to the buyer, refused by the ledger: %s", ref.AmountCents, r.Reason))
		d.settle() // a refunding ticket waiting on the repayment ends; an ended one stays
	case ref.Purpose == PurposeRefund && d.t.State == StateInTransit && d.t.Flags.LightningRefund:
		d.moneyVoid(*ref)
	case ref.Purpose == PurposeRefund && d.anchored() && d.t.State == StateRefunding && d.t.Escalation != nil && d.t.Escalation.Automatic:
		d.awaitRoom(r.Reason)
	case ref.Purpose == PurposeRefund && d.t.State != StateEscalated && !d.t.State.Terminal():
		d.escalate(system, RoleSystem, "refund refused by the ledger: "+r.Reason, "")
	}
}

// awaitRoom: the ledger refused the refund of an automatic verdict (no arbiter
// decided by decide_by), because the order's refunds leave no room. Escalating
// again would bring the same verdict and the same refusal for ever (an
// arbiter's own award refused goes back to the arbiter, who can award what
// fits); instead the ticket pays again at refund_by
// (room comes back when another ticket's key is voided), and after
// refund_attempts refusals it ends with what the buyer holds, and the platform
// is told what of its award went unpaid.
func (d *decision) awaitRoom(reason string) {
	if d.t.RoomRefusals++; d.t.RoomRefusals < d.p.RefundAttempts {
		d.transition(StateRefunding, system, RoleSystem, "await_room", "refused by the ledger: "+reason+"; paying again at refund_by", "")
		return
	}
	held, owedInFlight := d.t.Refunds.HeldRightly(d.t.RefundCapCents)
	unpaid := d.t.Refunds.Owed(d.t.RefundCapCents)
	why := fmt.Sprintf("%d cents of the award unpaid: the order's refunds leave no room (%s)", unpaid, reason)
	d.tellPlatform("award_unpaid", why)
	// The ceiling stays the award: a key given up on that pays after all is
	// the buyer's, not an overpayment.
	outcome := OutcomePartiallyRefunded
	if held+owedInFlight >= d.t.RequestedCents {
		outcome = OutcomeRefunded
	}
	d.end(outcome, system, RoleSystem, "award_unpaid")
}

// unanswered counts one more call about movement i that moved nothing, and asks
// again by lookup while the count allows.
func (d *decision) unanswered(i int, reason string) {
	if d.countUnanswered(i, reason) {
		d.lookup(d.t.Refunds[i])
	}
}

// countUnanswered counts a call about movement i that moved nothing. A live
// ticket's wait is bounded by its deadline (refund_by: the seller's breach, then
// the platform; recover_by; arrive_by); an ended ticket has none, so at
// refund_attempts calls in a row it tells the platform, which can reconcile the
// key. It reports whether to keep asking: always, since an answer may still
// come, paced by the workflow.
func (d *decision) countUnanswered(i int, reason string) bool {
	m := &d.t.Refunds[i]
	m.Unanswered++
	key, n := m.Key, m.Unanswered
	if n == 1 {
		d.system("money_unanswered", key+": "+reason+"; asking the provider again until it answers")
	}
	if n != d.p.RefundAttempts {
		return true
	}
	if d.t.State.Terminal() {
		why := fmt.Sprintf("%s unanswered after %d calls: %s", key, n, reason)
		d.system("money_unanswered", why+"; the platform is told")
		d.do(Effect{Kind: EffectNotify, To: RolePlatform, Message: "ticket " + d.t.ID + ": " + why + "; reconcile it from the provider's console"})
	}
	return true
}

// keysInFlight names the money movements that may still move money.
func (d *decision) keysInFlight() string {
	var keys []string
	for _, r := range d.t.Refunds {
		if MoneyInFlight(r.Status) {
			keys = append(keys, r.Key+" ("+string(r.Status)+")")
		}
	}
	if len(keys) == 0 {
		return "no key in flight"
	}
	return strings.Join(keys, ", ")
}

// reconcileKey applies the platform's reconcile action: the key's status as the
// provider's console shows it, audited, recorded by the record_money effect in
// the ledger and, under RulesMoneyAnchored once the ledger's answer comes (it
// says whether the order went over), in the ticket; the ticket goes on from
// there as it would on the provider's own answer. A ticket under the rules
// before records it at once.
func (d *decision) reconcileKey(req ActionRequest) error {
	b := req.Body
	i := d.t.Refunds.Find(b.Key)
	m := d.t.Refunds[i]
	d.note(req.Actor, req.Role, ActReconcile, fmt.Sprintf("%s %s: %s", m.Key, b.Status, b.Note), req.RequestID)
	d.do(Effect{Kind: EffectRecordMoney, Key: m.Key, Purpose: m.Purpose, AmountCents: m.AmountCents, Status: b.Status})
	if !d.anchored() {
		d.moneyStatus(m.Key, b.Status, "", "reconciled by the platform: "+b.Note)
	}
	return nil
}
