package models

import "fmt"

// The money rules of DESIGN.md §2, as the decision applies them:
//   - a ticket refunds at most RefundCapCents (the requested amount, the accepted
//     offer, the inspection's amount or the verdict's), and the ledger caps what
//     all tickets of one order refund at what was paid;
//   - a key reported failed is looked up before another key is issued, and only
//     a key the provider confirms void is replaced;
//   - a success for a key given up on is recorded, and an overpayment is charged
//     back;
//   - a verdict is capped by what is still refundable, counting money in flight;
//   - a ticket never ends with money in flight (see end in decide.go);
//   - a recovery charge is repaid only when the goods really arrived.

// refund moves the ticket to refunding to pay amount; it ends with outcome once
// the provider confirms.
func (d *decision) refund(amount int64, outcome Outcome, who string, role Role, rid string) {
	if d.anchored() {
		d.t.RefundCapCents = amount // the ceiling of the net refund; what was paid is counted against it
	} else {
		d.t.RefundCapCents = d.t.Refunds.Paid(PurposeRefund) + d.t.Refunds.InFlight(PurposeRefund) + amount
	}
	d.t.PendingOutcome = outcome
	d.transition(StateRefunding, who, role, "refund", fmt.Sprintf("%d cents", amount), rid)
	d.settle()
}

// sendMoney starts the ticket's next money movement under a fresh key.
func (d *decision) sendMoney(purpose Purpose, amount int64) {
	key := RefundKey(d.t.ID, len(d.t.Refunds)+1)
	lines := d.moneyLines(purpose, amount)
	d.t.Refunds = append(d.t.Refunds, Refund{Key: key, AmountCents: amount, Purpose: purpose, Status: RefundPending, Lines: lines})
	d.do(Effect{Kind: EffectMoveMoney, Key: key, Purpose: purpose, AmountCents: amount})
}

// lightningRefund pays an eligible return as soon as the goods are on their way (闪电退款).
func (d *decision) lightningRefund() {
	if d.t.Flags.LightningRefund || d.t.Refunds.Busy() || !LightningEligible(d.t, d.p, d.t.BuyerFlagged) {
		return
	}
	d.t.Flags.LightningRefund = true
	d.t.RefundCapCents = d.t.RequestedCents
	d.system("lightning_refund", fmt.Sprintf("%d cents before arrival", d.t.RequestedCents))
	d.sendMoney(PurposeRefund, d.t.RequestedCents)
}

// settle moves a refunding ticket on once nothing is in flight: it pays what is
// still owed under a new key (up to refund_attempts keys the provider voided),
// or ends with the outcome the ticket waits for.
func (d *decision) settle() {
	if d.t.State != StateRefunding || d.t.Refunds.Busy() {
		return
	}
	owed := d.t.RefundCapCents - d.t.Refunds.Paid(PurposeRefund)
	if d.anchored() {
		if d.t.Refunds.Excess(d.t.RefundCapCents) > 0 {
			d.chargeOverpayment() // the buyer holds more than the ceiling: that first
			if d.t.Refunds.Busy() || d.t.State != StateRefunding {
				return
			}
		}
		owed = d.t.Refunds.Owed(d.t.RefundCapCents)
	}
	if owed > 0 && (paysMoney(d.t.PendingOutcome) || d.refundsExchangeDifference()) {
		if d.t.Refunds.Voided()-d.t.VoidedBeforeVerdict >= d.p.RefundAttempts {
			d.escalate(system, RoleSystem, fmt.Sprintf("refund failed %d times", d.t.Refunds.Voided()), "")
			return
		}
		d.sendMoney(PurposeRefund, owed)
		return
	}
	d.end(d.t.PendingOutcome, system, RoleSystem, "refund_paid")
}

// refundsExchangeDifference: the ticket refunds a cheaper replacement's
// difference before it ends exchanged or swapped.
func (d *decision) refundsExchangeDifference() bool {
	return d.t.Exchange != nil && d.t.Exchange.Moved && d.t.Exchange.DifferenceCents < 0
}

// endedPaying: the ticket ended with an outcome it paid the buyer for (or an
// exchange that refunded its cheaper replacement's difference).
func (d *decision) endedPaying() bool {
	return paysMoney(d.t.Outcome) || d.refundsExchangeDifference()
}

// paysMoney: the outcomes a refunding ticket pays the buyer for.
func paysMoney(o Outcome) bool {
	return o == OutcomeRefunded || o == OutcomePartiallyRefunded || o == OutcomePriceProtected || o == OutcomeCompensated
}

// stillRefundable is what a verdict may still award: what the order paid less what
// this ticket refunded or has in flight (the ledger caps the order across tickets).
func (d *decision) stillRefundable() int64 { return d.t.StillRefundable() }

// StillRefundable is what a verdict may still award on t: what the order paid
// less what t refunded and has in flight. Under RulesMoneyAnchored that is what
// the verdict adds an award to: what the buyer rightly holds under the ceiling
// (a charge back in flight counted as taken) and the refunds in flight the
// buyer is owed (Money.HeldRightly); money past the ceiling is an overpayment,
// charged back unless the award covers it. The ledger caps the order across
// tickets. CheckAction and Decide both ask it, so an arbiter's award is refused
// at the door, never after.
func (t Ticket) StillRefundable() int64 {
	if t.Rules >= RulesMoneyAnchored {
		held, owedInFlight := t.Refunds.HeldRightly(t.RefundCapCents)
		return max(t.Order.PaidCents-held-owedInFlight, 0)
	}
	return max(t.Order.PaidCents-t.Refunds.Paid(PurposeRefund)-t.Refunds.InFlight(PurposeRefund), 0)
}

// anchored: the ticket runs under RulesMoneyAnchored.
func (d *decision) anchored() bool { return d.t.Rules >= RulesMoneyAnchored }

// heldRightly is what of the buyer's net refund the ticket's ceiling covers, and
// owedInFlight the refunds in flight the buyer is still owed: what a verdict or
// a new claim builds on. Money paid past the ceiling is an overpayment, never an
// entitlement.
func (d *decision) heldRightly(ceiling int64) (held, owedInFlight int64) {
	m := d.t.Refunds
	if !d.anchored() {
		held = min(m.Paid(PurposeRefund), ceiling)
		return held, min(m.InFlight(PurposeRefund), max(d.t.RefundCapCents-held, 0))
	}
	return m.HeldRightly(ceiling)
}

// buyerClaim is what the buyer still asks for when the platform steps in: the
// request less what was rightly refunded and what is owed and in flight, never
// more than is still refundable. Under RulesMoneyAnchored what was rightly
// refunded is measured against the ticket's ceiling, as the verdict measures it
// when it adds the claim: money paid past the ceiling (being charged back, or
// named to the platform, or a replacement key in flight past it) is not
// counted against the request.
func (d *decision) buyerClaim() int64 {
	ceiling := max(d.t.RefundCapCents, d.t.RequestedCents)
	if d.anchored() {
		ceiling = d.t.RefundCapCents
	}
	paid, owedInFlight := d.heldRightly(ceiling)
	return min(max(d.t.RequestedCents-paid-owedInFlight, 0), d.stillRefundable())
}

// payment applies a provider's webhook for a key the ticket holds.
func (d *decision) payment(ev PaymentEvent) error {
	if d.t.Refunds.Find(ev.RefundKey) < 0 {
		return Errorf(ENOTFOUND, "ticket %s has no money movement %s", d.t.ID, ev.RefundKey)
	}
	i := d.t.Refunds.Find(ev.RefundKey)
	if d.anchored() && ev.Status == RefundFailed && d.t.Refunds[i].Status == RefundSucceeded {
		// A failure after the success: an old report delivered late, or the money
		// came back. Only the provider, asked by key, can say which.
		d.system("money_contradicted", ev.RefundKey+": reported failed after it succeeded; asking the provider")
		d.t.Refunds[i].Contradicted = true
		d.lookup(d.t.Refunds[i])
		return nil
	}
	wasVoid := d.t.Refunds[i].Status == RefundVoid
	// The ledger recorded the webhook first and measured how far this payment
	// took the order over (the API passes its word on): known before the
	// payment moves the ticket on, so what follows charges it back.
	over := d.anchored() && d.orderOver(i, ev.OrderOverCents)
	if !d.moneyStatus(ev.RefundKey, ev.Status, ev.ProviderRef, ev.Reason) {
		return Errorf(ECONFLICT, "movement %s is already %s", ev.RefundKey, d.t.Refunds[i].Status)
	}
	if over {
		d.chargeOverpayment()
	}
	if r := d.t.Refunds[i]; d.anchored() && wasVoid && r.Purpose == PurposeRefund && r.Status == RefundSucceeded {
		// A key whose room the ledger gave back paid after all: the ledger, the
		// one place that sees the whole order, says by its lookup whether the
		// order went over what was paid.
		d.lookup(r)
	}
	return nil
}

// lookup asks the provider, and the ledger, what became of movement r.
func (d *decision) lookup(r Refund) {
	d.do(Effect{Kind: EffectLookupMoney, Key: r.Key, Purpose: r.Purpose, AmountCents: r.AmountCents})
}

// moneyStatus records a status the provider reported for key (an answer, a
// webhook or a lookup) and what follows from it. It reports whether anything
// changed: a status that does not rank above the recorded one changes nothing.
func (d *decision) moneyStatus(key string, status MoneyStatus, providerRef, reason string) bool {
	i := d.t.Refunds.Find(key)
	cur := d.t.Refunds[i].Status
	next, changed := NextMoneyStatus(cur, status)
	if !changed {
		return false
	}
	r := &d.t.Refunds[i]
	r.Status = next
	if providerRef != "" {
		r.ProviderRef = providerRef
	}
	d.t.RefundedCents = d.t.Refunds.Refunded()
	m, wasVoid := *r, cur == RefundVoid
	switch next {
	case RefundSent:
		d.system(string(m.Purpose)+"_sent", m.Key)
	case RefundFailed:
		// Not given up yet: the provider is asked by key whether it will still pay.
		d.system(string(m.Purpose)+"_failed", m.Key+": "+reason)
		d.lookup(m)
	case RefundVoid:
		why := "the provider will not pay it"
		if reason != "" && d.anchored() {
			why = reason
		}
		d.system(string(m.Purpose)+"_void", m.Key+": "+why)
		d.moneyVoid(m)
	case RefundSucceeded:
		d.system(string(m.Purpose)+"_succeeded", fmt.Sprintf("%s %d cents", m.Key, m.AmountCents))
		d.moneySucceeded(m, wasVoid)
	case RefundReversed:
		d.system(string(m.Purpose)+"_reversed", fmt.Sprintf("%s %d cents came back: %s", m.Key, m.AmountCents, reason))
		if d.anchored() {
			d.moneyReversed(m)
		}
	}
	return true
}

// moneyReversed: money the provider moved came back. Whatever the movement was
// for is as if it never moved (a reversed key counts as given up: Money.GivenUp),
// and the rules of a void key follow: a refund is paid again, a charge back
// charged again, a repayment repaid. On an ended ticket a reversed refund still
// owed is paid again under a new key (the platform is told after
// refund_attempts keys); where the ticket ended without paying (a recovery, a
// decline), or a recovery is reversed, the platform is told what the buyer
// holds, since the outcome stands.
func (d *decision) moneyReversed(m Refund) {
	switch {
	case m.Purpose == PurposeRefund && d.t.State.Terminal() && d.endedPaying():
		d.refundAfterEnd(m, "reversed")
	case m.Purpose == PurposeRefund && d.t.State.Terminal():
		if short := min(d.t.Refunds.Owed(0), m.AmountCents); short > 0 {
			d.tellPlatform("reversal_unsettled", fmt.Sprintf("%d cents to pay back to the buyer: %s reversed after the ticket ended %s", short, m.Key, d.t.Outcome))
		}
	case m.Purpose == PurposeRecovery && d.t.State.Terminal():
		d.tellPlatform("reversal_unsettled", fmt.Sprintf("overpaid by %d cents: recovery %s reversed after the ticket ended %s", m.AmountCents, m.Key, d.t.Outcome))
	default:
		d.moneyVoid(m)
	}
}

// refundAfterEnd pays again, under a new key, what an ended ticket that paid
// still owes the buyer after its refund m moved nothing in the end (reversed, or
// a key sent after the end that the provider refused); after refund_attempts
// such keys beyond the first the platform is told instead.
func (d *decision) refundAfterEnd(m Refund, what string) {
	owed := min(d.t.Refunds.Owed(d.t.RefundCapCents), m.AmountCents)
	switch {
	case owed <= 0:
	case d.t.Refunds.Voided() > d.p.RefundAttempts:
		why := fmt.Sprintf("%d cents to pay back to the buyer, %d refunds void or reversed", owed, d.t.Refunds.Voided())
		d.tellPlatform("refund_unpaid", why)
	default:
		d.system("refund_again", fmt.Sprintf("%s %s: %d cents under a new key", m.Key, what, owed))
		d.sendMoney(PurposeRefund, owed)
	}
}

func (d *decision) moneyVoid(m Refund) {
	if d.anchored() && m.Purpose == PurposeRefund && d.t.State.Terminal() && d.endedPaying() {
		d.refundAfterEnd(m, "void")
		return
	}
	if m.Purpose == PurposeRecovery && d.anchored() {
		// What the recovery would also have taken back past what the ticket may
		// hold (its key took the order over) is charged back on its own.
		d.chargeOverpayment()
	}
	if m.Purpose == PurposeOverpaid {
		d.chargeOverpayment() // the charge did not go through: ask again, or escalate
		return
	}
	if m.Purpose == PurposeExchangeCharge {
		d.exchangeChargeVoid(m)
		d.settle()
		return
	}
	if m.Purpose == PurposeRepayment && d.anchored() {
		d.repayAgain(m)
		return
	}
	if d.anchored() && m.Purpose == PurposeRefund && d.t.State == StateRecovering && !d.t.Refunds.Busy() &&
		d.t.Refunds.Paid(PurposeRefund) == 0 {
		// The lightning refund awaited at arrive_by will not pay: nothing to
		// recover, and the parcel is still missing, as without a lightning refund.
		d.t.Flags.LightningRefund = false
		d.escalate(system, RoleSystem, "return parcel not delivered: arrive_by passed", "")
		return
	}
	if m.Purpose == PurposeRefund && d.t.State == StateInTransit && d.t.Flags.LightningRefund {
		d.t.Flags.LightningRefund = false // the return goes on; inspection decides
		if !d.anchored() {
			d.t.RefundCapCents = 0
		}
		return
	}
	d.settle()
}

func (d *decision) moneySucceeded(m Refund, wasVoid bool) {
	switch m.Purpose {
	case PurposeOverpaid:
		if d.anchored() && wasVoid {
			d.repayOvercharge(m)
		}
	case PurposeRefund:
		if d.anchored() && d.t.State == StateInTransit && !d.t.Flags.LightningRefund {
			// A lightning refund given up on paid after all, before the goods
			// arrived: it is one again, recovered if they never do.
			d.t.Flags.LightningRefund = true
			d.system("lightning_refund", m.Key+" paid after all, before arrival")
		}
		if d.anchored() && d.t.State == StateRecovering && !d.t.Logistics.Returned {
			// Confirmed after arrive_by, for goods that never came: recovered
			// like one confirmed before it.
			d.system("start_recovery", m.Key+" paid after arrive_by")
			d.sendMoney(PurposeRecovery, m.AmountCents)
			return
		}
		d.chargeOverpayment()
		d.paidWhileEscalated()
	case PurposeRepayment:
		if d.anchored() {
			// The buyer's refund is back; what the buyer holds past the ceiling
			// with it (a refund the platform awarded meanwhile) is charged back.
			d.chargeOverpayment()
		}
	case PurposeRecovery:
		switch {
		case d.t.Logistics.Returned:
			// The goods arrived after all: the buyer keeps the refund.
			d.system("repay_recovery", "goods arrived; "+m.Key+" paid back")
			d.sendMoney(PurposeRepayment, m.AmountCents)
		case d.t.State == StateRecovering:
			d.t.Outcome = OutcomeRecovered
			d.transition(StateClosed, system, RoleSystem, "recovered", m.Key, "")
			return
		}
	}
	d.settle()
}

// repayOvercharge: a charge back the provider refused took the money after all,
// beside the one that replaced it, and the buyer now holds less than the ticket
// owes them: what it took twice is paid back at once, as a repayment (the
// buyer's own money, not a new refund), in any state; Owed counts it in flight.
func (d *decision) repayOvercharge(m Refund) {
	short := min(d.t.Refunds.Owed(d.t.RefundCapCents), m.AmountCents)
	if short <= 0 {
		return
	}
	d.system("repay_overcharge", fmt.Sprintf("%s was taken after it was refused: %d cents paid back", m.Key, short))
	d.sendMoney(PurposeRepayment, short)
}

// repayAgain: a repayment (the buyer's own money coming back) the provider
// will not pay is paid under a new key, and after refund_attempts such refusals
// the platform is told; the ticket's state does not change.
func (d *decision) repayAgain(m Refund) {
	voided := d.t.Refunds.GivenUp(PurposeRepayment)
	if voided >= d.p.RefundAttempts {
		why := fmt.Sprintf("%d cents to pay back to the buyer, %d repayments refused", m.AmountCents, voided)
		d.tellPlatform("repayment_unpaid", why)
		d.settle()
		return
	}
	d.system("repay_again", fmt.Sprintf("%s will not pay: %d cents under a new key", m.Key, m.AmountCents))
	d.sendMoney(PurposeRepayment, m.AmountCents)
}

// ReconcileBy is the check an ended ticket makes on money it still has in flight
// (a charge back or claim started after the end whose answer never came): the
// workflow raises it every refund_timeout while that lasts.
const ReconcileBy = "reconcile_by"

// reconcile looks up every key in flight on an ended ticket; the lookups'
// answers settle them. The ticket itself does not change.
func (d *decision) reconcile() error {
	if !d.t.State.Terminal() || !d.t.Refunds.Busy() {
		return Errorf(ECONFLICT, "ticket %s has no money in flight to reconcile", d.t.ID)
	}
	for _, r := range d.t.Refunds {
		if MoneyInFlight(r.Status) {
			d.lookup(r)
		}
	}
	return nil
}

// paidWhileEscalated: the platform was called in because a refund went
// unconfirmed, and before it decided the refund was paid in full. The ticket goes
// on as refunding would have (it ends), and the escalation ends with it.
func (d *decision) paidWhileEscalated() {
	e := d.t.Escalation
	if d.t.State != StateEscalated || e == nil || e.Verdict != "" || e.From != StateRefunding ||
		d.t.PendingOutcome == "" || d.t.Refunds.Paid(PurposeRefund) < d.t.RefundCapCents {
		return
	}
	e.Verdict = VerdictSupportBuyer // what the buyer asked for was paid
	d.do(Effect{Kind: EffectEndEscalation})
	d.transition(StateRefunding, system, RoleSystem, "escalation_resolved", "the refund was paid before the platform decided", "")
}

// chargeOverpayment charges back what the refunds paid over the ticket's cap (a
// key given up on that paid after all), less what is charged or being charged.
// After refund_attempts charges the provider voided, the platform is asked
// instead, with the overpayment named (an ended ticket records it).
func (d *decision) chargeOverpayment() {
	charged := d.t.Refunds.Paid(PurposeOverpaid) + d.t.Refunds.InFlight(PurposeOverpaid)
	over := d.t.Refunds.Paid(PurposeRefund) - d.t.RefundCapCents - charged
	if d.anchored() {
		over = d.t.Refunds.Excess(d.t.RefundCapCents)
	}
	if over <= 0 {
		return
	}
	voided := d.t.Refunds.GivenUp(PurposeOverpaid)
	if voided >= d.p.RefundAttempts {
		why := fmt.Sprintf("overpaid by %d cents, %d charges back failed", over, voided)
		decidedAlone := d.anchored() && d.t.Escalation != nil && d.t.Escalation.Automatic
		if d.t.State.Terminal() || d.t.State == StateEscalated || decidedAlone {
			// An ended ticket does not change state, and one decided by the
			// automatic verdict would get the same verdict again and again: the
			// platform is told instead.
			d.tellPlatform("overpayment_unrecovered", why)
		} else {
			d.escalate(system, RoleSystem, why, "")
		}
		return
	}
	d.system("overpaid", fmt.Sprintf("%d cents over the %d the ticket may refund", over, d.t.RefundCapCents))
	d.sendMoney(PurposeOverpaid, over)
}

// goodsAfterRecovery: the lightning-refunded goods arrived while the refund was
// being charged back, or after the write-off. The arrival is recorded; a charge
// already paid is repaid, one in flight is repaid if it succeeds.
func (d *decision) goodsAfterRecovery(action, note string) {
	d.t.Logistics.Returned = true
	d.note(system, RoleSystem, action, note, "")
	if d.anchored() {
		// The lightning refund is the buyer's again: the ceiling covers it, so
		// the repayment is not charged back as an overpayment (a verdict given
		// after the write-off may have lowered it).
		d.t.RefundCapCents = max(d.t.RefundCapCents, d.t.RequestedCents)
	}
	if recovered := d.t.Refunds.Paid(PurposeRecovery) - d.t.Refunds.Paid(PurposeRepayment); recovered > 0 {
		d.system("repay_recovery", fmt.Sprintf("goods arrived; %d cents paid back", recovered))
		d.sendMoney(PurposeRepayment, recovered)
	}
	if d.t.State == StateRecovering {
		d.end(OutcomeRefunded, system, RoleSystem, action)
	}
}

// refundOverdue: refund_by passed. The platform forces the refund and records the
// seller's breach: every key in flight is reconciled by lookup. A second miss goes
// to the platform.
func (d *decision) refundOverdue(why string) {
	if d.anchored() && d.t.RoomRefusals > 0 && !d.t.Refunds.Busy() {
		// Waiting for room in the order after the ledger refused the platform's
		// award (awaitRoom): paid again under a new key.
		d.settle()
		return
	}
	for _, r := range d.t.Refunds { // every key in flight is reconciled by lookup
		if MoneyInFlight(r.Status) {
			d.lookup(r)
		}
	}
	if d.anchored() && d.t.Refunds.Busy() && d.t.Refunds.InFlight(PurposeRefund) == 0 && d.t.Refunds.Owed(d.t.RefundCapCents) == 0 &&
		d.t.Refunds.Excess(d.t.RefundCapCents) == 0 {
		// What is in flight is not the seller's to pay (a freight claim, a charge
		// back, a repayment): no breach, no escalation; the keys are looked up and
		// the ticket ends when they settle.
		d.transition(StateRefunding, system, RoleSystem, "await_settlement", "waiting for "+d.keysInFlight()+": "+why, "")
		return
	}
	if d.t.Flags.SellerBreach {
		if d.t.Escalations > 0 && d.t.Escalation != nil && d.t.Escalation.Verdict != "" {
			if d.anchored() {
				if d.t.OverduesAfterVerdict++; d.t.OverduesAfterVerdict >= d.p.RefundAttempts {
					// No wait without a bound: the platform is called in again, with
					// the keys named, and can reconcile them from its console.
					d.t.OverduesAfterVerdict = 0
					d.escalate(system, RoleSystem, "refund still not confirmed after the platform's order: "+d.keysInFlight()+"; "+why, "")
					return
				}
			}
			// The platform has decided already: the ticket waits for its money,
			// looking it up each refund_by, rather than escalating again and again.
			d.transition(StateRefunding, system, RoleSystem, "await_refund", "still waiting for the provider: "+why, "")
			return
		}
		reason := "refund still not confirmed: " + why
		if d.anchored() {
			reason = "refund still not confirmed: " + d.keysInFlight() + "; " + why
		}
		d.escalate(system, RoleSystem, reason, "")
		return
	}
	d.t.Flags.SellerBreach = true
	d.transition(StateRefunding, system, RoleSystem, "force_refund", why, "")
	d.settle()
}

// verdict resumes an escalated ticket with the platform's decision. An automatic
// verdict's amount is capped by what is still refundable; an arbiter's that asks
// for more is refused (CheckAction says so first).
func (d *decision) verdict(v Verdict, who string, role Role) error {
	if d.t.State != StateEscalated {
		return Errorf(ECONFLICT, "ticket %s is %s, not escalated", d.t.ID, d.t.State)
	}
	if v.Automatic {
		// The escalation knew the claim when it started; a key voided or paid
		// since changes what the buyer is still owed, so the claim is taken now.
		if v.Verdict == VerdictSupportBuyer {
			v.RefundCents = d.buyerClaim()
		}
		who, role = system, RoleSystem
	}
	if v.RefundCents > d.stillRefundable() {
		return Errorf(EINVALID, "refund_cents %d is more than the %d cents still refundable", v.RefundCents, d.stillRefundable())
	}
	d.t.Escalation.Verdict, d.t.Escalation.RefundCents = v.Verdict, v.RefundCents
	if d.anchored() {
		d.t.Escalation.Automatic = v.Automatic
	}
	d.t.OverduesAfterVerdict = 0
	d.do(Effect{Kind: EffectEndEscalation})
	note := v.Verdict
	if v.Note != "" {
		note += ": " + v.Note
	}
	d.note(who, role, ActArbitrate, note, "")
	from := d.t.Escalation.From
	// The money in flight the buyer is owed: what was to be refunded before and is
	// not paid yet. In flight beyond that (a key that replaced one that paid after
	// all) is an overpayment if it lands, and is charged back.
	// What was paid over the cap is an overpayment, not an entitlement.
	paid, owedInFlight := d.heldRightly(d.t.RefundCapCents)
	entitled := min(paid+owedInFlight+v.RefundCents, d.t.Order.PaidCents)
	switch {
	case v.Verdict == VerdictSupportSeller:
		d.t.RefundCapCents = paid + owedInFlight // what is owed and in flight may still land
		d.end(OutcomePlatformDeclined, who, role, ActArbitrate)
	case v.RefundCents > 0 || owedInFlight > 0:
		outcome := OutcomeRefunded
		if entitled < d.t.RequestedCents {
			outcome = OutcomePartiallyRefunded
		}
		d.t.RefundCapCents = entitled
		d.t.PendingOutcome = outcome
		d.t.VoidedBeforeVerdict = d.t.Refunds.Voided() // the platform's order gets its own attempts
		d.transition(StateRefunding, who, role, "refund", fmt.Sprintf("%d cents awarded", v.RefundCents), "")
		d.settle()
	case from == StateRejected && d.t.Inspection != nil:
		// The seller has the goods and failed them: the platform overrules the inspection.
		d.inspectionPassed(who, role, ActArbitrate, note, "", true)
	case from == StateRejected || from == StateNegotiating:
		// The platform orders the seller to accept the request as made.
		d.approved(who, role, "")
	case d.anchored():
		// Nothing more is awarded: the ceiling is what the buyer rightly holds, so
		// a key voided before the verdict that pays after it is charged back.
		d.t.RefundCapCents = paid
		outcome := OutcomeCompensated
		if d.t.Refunds.Paid(PurposeRefund) > 0 {
			outcome = OutcomeRefunded
		}
		d.end(outcome, who, role, ActArbitrate)
	case d.t.Refunds.Paid(PurposeRefund) > 0:
		d.end(OutcomeRefunded, who, role, ActArbitrate)
	default:
		d.end(OutcomeCompensated, who, role, ActArbitrate)
	}
	return nil
}

// result applies what an effect came to. A logistics effect that gave up is
// turned into the event it stands for; a money movement that gave up without an
// answer is looked up, never paid again blindly.
func (d *decision) result(r EffectResult) error {
	e := r.Effect
	switch e.Kind {
	case EffectMoveMoney, EffectLookupMoney, EffectRecordMoney:
		if d.t.Refunds.Find(e.Key) < 0 {
			return Errorf(ENOTFOUND, "ticket %s has no money movement %s", d.t.ID, e.Key)
		}
		if d.anchored() || e.Kind == EffectRecordMoney {
			return d.moneyResult(r)
		}
		switch {
		case r.Failed && r.Code == ECONFLICT && e.Kind == EffectMoveMoney:
			d.ledgerRefused(d.t.Refunds.Find(e.Key), r)
		case r.Failed:
			m := &d.t.Refunds[d.t.Refunds.Find(e.Key)]
			if m.Unanswered++; m.Unanswered == 1 {
				d.system("money_unanswered", e.Key+": "+r.Reason+"; asking the provider again until it answers")
			}
			d.do(Effect{Kind: EffectLookupMoney, Key: e.Key, Purpose: e.Purpose, AmountCents: e.AmountCents})
		case e.Kind == EffectLookupMoney && r.Status == RefundFailed:
			// Asked by key, the provider confirms the failure: it did not pay and
			// will not, so the key is void and may be replaced.
			d.moneyStatus(e.Key, RefundVoid, r.ProviderRef, r.Reason)
		case e.Kind == EffectLookupMoney && r.Status == "":
			// The provider never saw the key: the call never reached it. The same
			// key is sent again (the provider pays a key at most once); no new key.
			d.system("money_resent", e.Key+": the provider never received it")
			d.do(Effect{Kind: EffectMoveMoney, Key: e.Key, Purpose: e.Purpose, AmountCents: e.AmountCents})
		case e.Kind == EffectLookupMoney && !d.moneyStatus(e.Key, r.Status, r.ProviderRef, r.Reason) &&
			MoneyInFlight(d.t.Refunds[d.t.Refunds.Find(e.Key)].Status):
			// Still being paid at the provider: asked again later (the workflow paces it).
			d.do(Effect{Kind: EffectLookupMoney, Key: e.Key, Purpose: e.Purpose, AmountCents: e.AmountCents})
		case e.Kind == EffectMoveMoney:
			d.moneyStatus(e.Key, r.Status, r.ProviderRef, r.Reason)
		}
		if !r.Failed {
			d.t.Refunds[d.t.Refunds.Find(e.Key)].Unanswered = 0
		}
		return nil
	}
	if d.anchored() && (e.Kind == EffectBookPickup || e.Kind == EffectBookSwap) && !r.Failed && r.BookingID != "" && d.unwantedVisit(e.Attempt) {
		// A booking answered after the ticket stopped wanting it (booked again,
		// fallen back to self-shipping, closed): the courier is told not to come.
		d.system("unwanted_booking", fmt.Sprintf("attempt %d, booking %s: cancelled", e.Attempt, r.BookingID))
		d.do(Effect{Kind: EffectCancelPickup, BookingID: r.BookingID})
		return nil
	}
	if d.t.State.Terminal() && e.Kind != EffectCancelPickup {
		return Errorf(ECONFLICT, "ticket %s has ended", d.t.ID)
	}
	switch e.Kind {
	case EffectBookPickup, EffectBookSwap:
		if d.t.State != StateAwaitingPickup || e.Attempt != d.t.Logistics.PickupAttempts {
			return Errorf(ECONFLICT, "booking attempt %d is no longer current", e.Attempt)
		}
		if r.Failed {
			d.system("booking_failed", r.Reason)
			d.visitFailed("booking failed: " + r.Reason)
			return nil
		}
		d.t.Logistics.PickupBooking = r.BookingID
		if r.TrackingNo != "" {
			d.t.Logistics.TrackingNo = r.TrackingNo
		}
		d.system(d.visit()+"_booked", fmt.Sprintf("attempt %d, booking %s", e.Attempt, r.BookingID))
	case EffectVerifyTracking:
		if d.t.State != StateInTransit || e.TrackingNo != d.t.Logistics.TrackingNo {
			return Errorf(ECONFLICT, "tracking %s is no longer current", e.TrackingNo)
		}
		if r.Failed || !r.Verified {
			d.system("tracking_unverified", "the carrier does not know this tracking number yet")
			return nil
		}
		d.system("tracking_verified", e.TrackingNo)
		d.lightningRefund()
	case EffectShipReplacement, EffectSendToRepair:
		failed, action, ref, field := "replacement could not be shipped", "replacement_shipped", r.TrackingNo, &d.t.Logistics.ReplacementNo
		if e.Kind == EffectSendToRepair {
			failed, action, ref, field = "repair order could not be placed", "repair_order", r.BookingID, &d.t.Logistics.RepairOrder
		}
		if r.Failed && d.anchored() && d.t.State == StateEscalated {
			// Already before the platform: a second escalation would drop the
			// evidence given so far. The failure is recorded for the verdict.
			d.system(string(e.Kind)+"_failed", failed+": "+r.Reason)
			return nil
		}
		if r.Failed {
			d.escalate(system, RoleSystem, failed+": "+r.Reason, "")
			return nil
		}
		*field = ref
		d.system(action, ref)
	case EffectStartEscalation:
		if r.Failed {
			if d.t.State != StateEscalated || d.t.Escalation == nil || d.t.Escalation.Orphaned {
				return Errorf(ECONFLICT, "no escalation is waiting on its process")
			}
			// The arbiter can still decide on the ticket; without a verdict the
			// ticket decides at decide_by itself.
			d.t.Escalation.Orphaned = true
			d.system("escalation_failed", r.Reason)
		}
	case EffectCancelPickup, EffectSendEvidence, EffectEndEscalation, EffectNotify:
		if r.Failed {
			d.system(string(e.Kind)+"_failed", r.Reason)
		}
	default:
		return Errorf(EINVALID, "unknown effect %q", e.Kind)
	}
	return nil
}

// tellPlatform records why in the timeline under action and tells the platform,
// naming the ticket: what the ticket cannot settle by itself (money it could not
// pay or take back) is never left silent.
func (d *decision) tellPlatform(action, why string) {
	d.system(action, why)
	d.do(Effect{Kind: EffectNotify, To: RolePlatform, Message: "ticket " + d.t.ID + ": " + why})
}
