package models

// Purpose is what a money movement is for: the one spelling the ticket, the
// activities, the refunds ledger and the providers' adapters share. Refunds,
// charge backs and repayments count toward what a ticket refunded
// (Money.Refunded); refunds and repayments take room in what its order paid
// (TakesOrderRoom).
type Purpose string

// The money movement purposes.
const (
	PurposeRefund     Purpose = "refund"
	PurposeRecovery   Purpose = "recovery"        // charges a lightning refund back (闪电催收)
	PurposeOverpaid   Purpose = "overpayment"     // charges back what a key given up on paid after all
	PurposeRepayment  Purpose = "recovery_return" // pays a recovery charge back: the buyer's own money
	PurposeFreight    Purpose = "freight_insurance"
	PurposeCompensate Purpose = "compensation" // delayed-shipment compensation (the shipping watch)
)

// RulesMoneyAnchored is the version of the money rules (Ticket.Rules) that
// measures a ticket's net refund against a ceiling no late success can raise
// (Money.Owed, Money.Excess), voids a key the provider refused at once, bounds
// every wait for an answer and hears of an order the ledger saw go over what was
// paid. A ticket keeps the version it was created under (the workflow asks
// workflow.GetVersion once), so a ticket started before keeps the rules it ran on.
const RulesMoneyAnchored = 1

// RulesLines is the version of the money rules (Ticket.Rules) that, beside
// RulesMoneyAnchored's, bounds what a revision asks and what an offer refunds
// by what the ticket's lines were paid (RefundBound), as the create is
// bounded (DESIGN §2 Lines and eligibility). A ticket created before keeps
// the bound by the order's paid amount.
const RulesLines = 2

// RefusedByProvider is the code of an effect's result when the provider refused
// the movement for good (an HTTP 4xx other than 408 and 429, or an answer that
// says it will not pay): the same request would get the same answer.
const RefusedByProvider = "provider_refused"

// RefundVoid is the status of a key the provider reported failed and then, asked
// by key, confirmed it did not pay and will not: only then may a new key take its
// place.
const RefundVoid MoneyStatus = "void"

// RefundReversed is the status of a movement the provider paid (or charged) and
// then, asked by key, reported failed: the money came back (a bank returned the
// refund, a card network reversed the charge). Only a success is reversed, and
// only a lookup says so (LookedUpStatus): a "failed" webhook after a success may
// be an old report delivered late, so it makes the ticket ask, nothing more.
const RefundReversed MoneyStatus = "reversed"

// moneyRank orders the statuses of a money movement. A status only ever rises,
// whatever order the provider's answers, webhooks and lookups arrive in. failed
// ranks below void (the failure confirmed) and both below succeeded: a provider
// that reports a failure and then pays after all has paid, and that is recorded.
// A reversal follows a success and ends the movement.
var moneyRank = map[MoneyStatus]int{RefundPending: 0, RefundSent: 1, RefundFailed: 2, RefundVoid: 3, RefundSucceeded: 4, RefundReversed: 5}

// NextMoneyStatus is the status rule of money movements, for the ticket and the
// refunds ledger alike: reported replaces cur only when it ranks higher, so
// duplicated, reordered or contradicting reports move a key once and forwards;
// reversed replaces succeeded only. An unknown reported status changes nothing.
func NextMoneyStatus(cur, reported MoneyStatus) (next MoneyStatus, changed bool) {
	r, ok := moneyRank[reported]
	if !ok || r <= moneyRank[cur] || reported == RefundReversed && cur != RefundSucceeded {
		return cur, false
	}
	return reported, true
}

// KnownMoneyStatus reports whether status is one a movement can stand at.
func KnownMoneyStatus(status MoneyStatus) bool {
	_, ok := moneyRank[status]
	return ok
}

// LookedUpStatus is what a provider's answer to a lookup by key makes of a key
// that stands at cur: failed, asked by key, is confirmed (void), and of a key
// that had succeeded it is a reversal; any other answer is itself.
func LookedUpStatus(cur, answered MoneyStatus) MoneyStatus {
	switch {
	case answered == RefundFailed && cur == RefundSucceeded:
		return RefundReversed
	case answered == RefundFailed:
		return RefundVoid
	}
	return answered
}

// MoneyInFlight reports whether a movement in status may still move money: not
// yet answered, or reported failed but not confirmed void.
func MoneyInFlight(status MoneyStatus) bool {
	return status == RefundPending || status == RefundSent || status == RefundFailed
}

// Money is every money movement of one ticket (refunds, recovery charges and
// their repayments, freight-insurance claims), in the order they were started,
// each under its own idempotency key. Its methods are the money rules' arithmetic;
// a movement carries one amount today and can carry per-line amounts later
// without changing them.
type Money []Refund

// Find returns the index of key, or -1.
func (m Money) Find(key string) int {
	for i, r := range m {
		if r.Key == key {
			return i
		}
	}
	return -1
}

// Paid sums the movements of purpose that succeeded.
func (m Money) Paid(purpose Purpose) int64 {
	var n int64
	for _, r := range m {
		if r.Purpose == purpose && r.Status == RefundSucceeded {
			n += r.AmountCents
		}
	}
	return n
}

// InFlight sums the movements of purpose that may still move money.
func (m Money) InFlight(purpose Purpose) int64 {
	var n int64
	for _, r := range m {
		if r.Purpose == purpose && MoneyInFlight(r.Status) {
			n += r.AmountCents
		}
	}
	return n
}

// Busy reports whether any movement, of any purpose, may still move money.
func (m Money) Busy() bool {
	for _, r := range m {
		if MoneyInFlight(r.Status) {
			return true
		}
	}
	return false
}

// Voided counts the refunds the provider confirmed it will not pay, or paid and
// took back (reversed): the keys a new one replaced.
func (m Money) Voided() int { return m.GivenUp(PurposeRefund) }

// GivenUp counts the movements of purpose that moved no money in the end: void,
// or reversed. Each purpose's retries are bounded by it (refund_attempts).
func (m Money) GivenUp(purpose Purpose) int {
	n := 0
	for _, r := range m {
		if r.Purpose == purpose && (r.Status == RefundVoid || r.Status == RefundReversed) {
			n++
		}
	}
	return n
}

// Refunded is what the buyer has been refunded, net of what was recovered and
// not paid back: the figure the ticket shows as refunded_cents, and the net
// refund the money rules measure against the ticket's ceiling.
func (m Money) Refunded() int64 {
	return m.Paid(PurposeRefund) - m.Paid(PurposeRecovery) - m.Paid(PurposeOverpaid) + m.Paid(PurposeRepayment)
}

// ChargingBack sums the charge backs (recovery or overpayment) that may still
// take money back from the buyer.
func (m Money) ChargingBack() int64 {
	return m.InFlight(PurposeRecovery) + m.InFlight(PurposeOverpaid)
}

// OrderOver sums what the ticket's refunds paid past what the order paid, as the
// ledger reported it (a key given up on that paid after another ticket of the
// order was refunded): money this ticket's buyer holds twice.
// A reversed key's excess came back with its money.
func (m Money) OrderOver() int64 {
	var n int64
	for _, r := range m {
		if r.Status == RefundSucceeded {
			n += r.OrderOverCents
		}
	}
	return n
}

// Allowed is what the ticket may hold as net refund under ceiling (its request,
// the accepted offer, the inspection's amount or the verdict's award): the
// ceiling and, once the ledger said its refunds took the order over, no more
// than what of them fit in what the order paid: what they paid net of
// recoveries, less how far they went over. The ledger measures how far a key
// took the order over when it records the key's payment, leaving this ticket's
// own overpayment charges out (OrderOverBy), so they are added back here. The
// excess over the order and the excess over the ceiling are often the same
// money (a key given up on that paid after all, beside the key that replaced
// it): it is charged back once.
func (m Money) Allowed(ceiling int64) int64 {
	over := m.OrderOver()
	if over == 0 {
		return max(ceiling, 0)
	}
	fit := m.Refunded() + m.Paid(PurposeOverpaid) - over
	return max(min(ceiling, fit), 0)
}

// HeldRightly is what of the buyer's net refund, less the charge backs in
// flight, the ceiling covers (as Allowed says), and owedInFlight the refunds in
// flight the buyer is still owed under it: what a verdict or a new claim builds
// on. Money paid past the ceiling is an overpayment, never an entitlement.
func (m Money) HeldRightly(ceiling int64) (held, owedInFlight int64) {
	allowed := m.Allowed(ceiling)
	held = min(m.Refunded()-m.ChargingBack(), allowed)
	return max(held, 0), min(m.InFlight(PurposeRefund), max(allowed-held, 0))
}

// Owed is what the ticket still has to pay the buyer to reach what it may hold,
// counting the refunds and repayments in flight as paid and the charge backs in
// flight as taken. This and Excess are the one place that says what is owed
// either way.
func (m Money) Owed(ceiling int64) int64 {
	return max(m.Allowed(ceiling)-m.Refunded()-m.InFlight(PurposeRefund)-m.InFlight(PurposeRepayment)+m.ChargingBack(), 0)
}

// Excess is what the buyer holds past what the ticket may hold and no charge
// back in flight takes back yet: what is to be charged back.
func (m Money) Excess(ceiling int64) int64 {
	return max(m.Refunded()-m.ChargingBack()-m.Allowed(ceiling), 0)
}

// LedgerEntry is one money movement of an order as the refunds ledger holds it.
type LedgerEntry struct {
	TicketID    string
	Purpose     Purpose
	Status      MoneyStatus
	AmountCents int64
}

// OrderOverBy is how far movement e, a refund or a repayment just recorded as
// succeeded, took its order's net refunds past paid, at most e's amount. The
// entries (every movement of the order, e included) are measured on money that
// moved: refunds and repayments that paid, less charge backs that took money
// back or may still (so that one excess is charged back once), never on
// reservations, which a key voided later gives back. The overpayment charges of
// e's own ticket are left out: that ticket adds them back when it weighs what
// of its money fits in the order (Money.Allowed). The refunds ledger and the
// reference model both measure by it.
func OrderOverBy(e LedgerEntry, entries []LedgerEntry, paid int64) int64 {
	if !TakesOrderRoom(e.Purpose) {
		return 0
	}
	var net int64
	for _, x := range entries {
		switch {
		case TakesOrderRoom(x.Purpose) && x.Status == RefundSucceeded:
			net += x.AmountCents
		case x.Purpose == PurposeOverpaid && x.TicketID == e.TicketID:
		case (x.Purpose == PurposeRecovery || x.Purpose == PurposeOverpaid) && (x.Status == RefundSucceeded || MoneyInFlight(x.Status)):
			net -= x.AmountCents
		}
	}
	return max(min(net-paid, e.AmountCents), 0)
}

// OrderCapDelta is how a movement's change of status moves what the order's
// refunds hold against what the order paid (the ledger's per-order total): a
// refund or a repayment (TakesOrderRoom reserved it when it started) gives its
// amount back when void or reversed and takes it again if it succeeds after
// all; a charge back (recovery or overpayment) that succeeds gives back what the
// buyer returned, and takes it again when reversed.
func OrderCapDelta(purpose Purpose, from, to MoneyStatus, amount int64) int64 {
	switch purpose {
	case PurposeRefund, PurposeRepayment:
		switch {
		case to == RefundVoid && from != RefundVoid, to == RefundReversed:
			return -amount
		case to == RefundSucceeded && from == RefundVoid:
			return amount
		}
	case PurposeRecovery, PurposeOverpaid:
		switch {
		case to == RefundSucceeded && from != RefundSucceeded:
			return -amount
		case to == RefundReversed:
			return amount // what the buyer returned came back to the buyer
		}
	}
	return 0
}

// TakesOrderRoom reports whether a movement of purpose reserves room in what its
// order paid when it starts (the ledger refuses it when the room is not there):
// a refund, and a repayment of a charge back, which gives the buyer back money
// the order's room had regained.
func TakesOrderRoom(purpose Purpose) bool {
	return purpose == PurposeRefund || purpose == PurposeRepayment
}
