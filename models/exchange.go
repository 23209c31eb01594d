package models

import "fmt"

// PurposeExchangeCharge charges the buyer the price difference of an exchange
// for a dearer variant. It is the buyer's money coming in, not a refund: it
// counts in no refunded amount and takes no room under the order's cap.
const PurposeExchangeCharge Purpose = "exchange_charge"

// ExchangePrice is the price of the variant an exchange ships instead, as the
// seller stated it when approving, and the difference it makes: above 0 the
// buyer pays it (an exchange_charge), below 0 the buyer is refunded it (a
// refund of the difference, under every refund rule). Moved is set once the
// ticket started moving it.
type ExchangePrice struct {
	UnitCents       int64 `json:"unit_cents"`
	DifferenceCents int64 `json:"difference_cents"`
	Moved           bool  `json:"moved,omitempty"`
}

// checkExchangePrice checks approve's exchange_unit_cents: an exchange's, with
// priced lines, on a ticket under RulesLines, within the amount limits.
func checkExchangePrice(t Ticket, b ActionBody) error {
	if b.ExchangeUnitCents == nil {
		return nil
	}
	u := *b.ExchangeUnitCents
	switch {
	case t.Kind != KindExchange:
		return Errorf(EINVALID, "exchange_unit_cents is the price of an exchange's replacement; this ticket is a %s", t.Kind)
	case u < 1 || u > MaxAmountCents:
		return Errorf(EINVALID, "exchange_unit_cents must be between 1 and %d cents", int64(MaxAmountCents))
	}
	if _, priced := UnitsWorth(t.Items); t.Rules < RulesLines || !priced {
		return Errorf(EINVALID, "exchange_unit_cents: this ticket's lines have no price to compare with; approve without it (the replacement at the same price)")
	}
	return nil
}

// exchangeDifference is what the replacement's units cost more (above 0) or
// less (below 0) than the units returned were paid.
func exchangeDifference(items []Item, unitCents int64) int64 {
	var units int64
	for _, it := range items {
		units += int64(it.Qty)
	}
	return units*unitCents - sumCents(lineValues(items))
}

// moveExchangeDifference starts moving an exchange's price difference as the
// exchange ends with outcome o, once: a refund of a cheaper variant's
// difference (the ticket refunds, then ends with o), or a charge of a dearer
// one (the ticket ends with o once it settles). It reports whether it took the
// ending over (a refund runs first).
func (d *decision) moveExchangeDifference(o Outcome, who string, role Role) bool {
	if x := d.t.Exchange; x == nil || x.Moved || x.DifferenceCents == 0 || (o != OutcomeExchanged && o != OutcomeSwapped) {
		return false
	}
	x := *d.t.Exchange // the caller's ticket is not changed
	x.Moved = true
	d.t.Exchange = &x
	if x.DifferenceCents > 0 {
		d.system("exchange_charge", fmt.Sprintf("%d cents: the replacement costs more", x.DifferenceCents))
		d.sendMoney(PurposeExchangeCharge, x.DifferenceCents)
		return false
	}
	// The difference is now what the buyer asks: a verdict, a claim and the
	// outcome measure the ticket by it, as by a refund's request.
	d.t.RequestedCents = -x.DifferenceCents
	d.refund(-x.DifferenceCents, o, who, role, "")
	return true
}

// exchangeChargeVoid: the provider will not take the difference under m's key.
// A refused payment of the buyer's is the buyer's to settle, not asked again
// under a new key (two keys could both be taken): the platform is told.
func (d *decision) exchangeChargeVoid(m Refund) {
	d.tellPlatform("exchange_charge_unpaid", fmt.Sprintf("%d cents of the exchange difference unpaid by the buyer: %s void", m.AmountCents, m.Key))
}
