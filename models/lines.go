package models

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Disposition is what the seller does with a returned line's units.
type Disposition string

// Dispositions (Shopify's restock / not restock, and scrap for goods that can
// never be sold again).
const (
	DispositionRestock    Disposition = "restock"
	DispositionNotRestock Disposition = "not_restock"
	DispositionScrap      Disposition = "scrap"
)

// Dispositions lists them, in the API's order.
var Dispositions = []Disposition{DispositionRestock, DispositionNotRestock, DispositionScrap}

// LineInspection is the seller's finding on one line of the returned goods:
// how many of its units arrived, how many of those the buyer damaged, and what
// becomes of them.
type LineInspection struct {
	SKU         string      `json:"sku"`
	Received    int         `json:"received"`
	Damaged     int         `json:"damaged,omitempty"`
	Disposition Disposition `json:"disposition,omitempty"`
}

// LineCents is the part of a money movement that pays (or charges back) one
// order line.
type LineCents struct {
	SKU   string `json:"sku"`
	Cents int64  `json:"cents"`
}

// Line is one order line of a ticket as the API shows it: what was asked for,
// what arrived (every unit, for an inspection passed whole), and the net money
// moved for it.
type Line struct {
	SKU            string `json:"sku"`
	Qty            int    `json:"qty"`
	UnitPaidCents  int64  `json:"unit_paid_cents"`
	RequestedCents int64  `json:"requested_cents"`
	// Received and Damaged are the inspection's (absent before it, or when the
	// ticket was inspected whole).
	Received      *int        `json:"received,omitempty"`
	Damaged       int         `json:"damaged,omitempty"`
	Disposition   Disposition `json:"disposition,omitempty"`
	RefundedCents int64       `json:"refunded_cents"`
}

// checkInspectLines checks an inspection's lines against the ticket's: each SKU
// one of the ticket's lines, once; 0 ≤ damaged ≤ received ≤ units returned; a
// known disposition. A pass or deduct needs at least one unit received (an
// empty parcel is a failed inspection the buyer may escalate), an exchange or a
// repair every unit (the replacement is for all of them), and a deduction a
// damaged unit to apply to.
func checkInspectLines(t Ticket, b ActionBody) error {
	if len(b.Lines) == 0 {
		return nil
	}
	if len(t.Items) == 0 {
		return Errorf(EINVALID, "lines: this ticket names no order lines (it is from before lines); inspect it whole, without lines")
	}
	if _, priced := UnitsWorth(t.Items); !priced {
		return Errorf(EINVALID, "lines: the order record gives no unit_paid_cents for some of this ticket's lines, so a line's share is unknown; inspect the ticket whole, without lines")
	}
	seen := map[string]bool{}
	received, damaged, short := 0, 0, false
	for i, l := range b.Lines {
		at := fmt.Sprintf("lines[%d]", i)
		j := slices.IndexFunc(t.Items, func(it Item) bool { return it.SKU == l.SKU })
		switch {
		case j < 0:
			return Errorf(EINVALID, "%s.sku: %q is not a line of this ticket", at, l.SKU)
		case seen[l.SKU]:
			return Errorf(EINVALID, "%s.sku: %q is inspected twice; give each line once", at, l.SKU)
		case l.Received < 0 || l.Received > t.Items[j].Qty:
			return Errorf(EINVALID, "%s.received: %d, but the ticket returns %d unit(s) of %s", at, l.Received, t.Items[j].Qty, l.SKU)
		case l.Damaged < 0 || l.Damaged > l.Received:
			return Errorf(EINVALID, "%s.damaged: %d, must be between 0 and the %d unit(s) received", at, l.Damaged, l.Received)
		case l.Disposition != "" && !slices.Contains(Dispositions, l.Disposition):
			return Errorf(EINVALID, "%s.disposition: %q; want restock, not_restock or scrap", at, l.Disposition)
		}
		seen[l.SKU] = true
		received += l.Received
		damaged += l.Damaged
		short = short || l.Received < t.Items[j].Qty
	}
	for _, it := range t.Items {
		if !seen[it.SKU] {
			short = true // a line left out: none of its units arrived
		}
	}
	switch {
	case b.Result == InspectFail:
		return nil
	case received == 0:
		return Errorf(EINVALID, "lines: no unit was received; inspect with result fail (the buyer may escalate)")
	case short && (t.Kind == KindExchange || t.Kind == KindRepair):
		return Errorf(EINVALID, "lines: a %s is for every unit returned; receive them all, or inspect with result fail", t.Kind)
	case b.Result == InspectDeduct && damaged == 0:
		return Errorf(EINVALID, "lines: a deduction applies to the units the buyer damaged, and no line has damaged units")
	}
	return nil
}

// UnitsWorth is what the units of items were paid (unit_paid_cents × qty,
// summed), and whether that is known: every line has a price. The one rule
// for what a create may ask, a revision or an offer may reach, and whether an
// inspection or an exchange price can be measured by line.
func UnitsWorth(items []Item) (int64, bool) {
	priced := len(items) > 0 && !slices.ContainsFunc(items, func(it Item) bool { return it.UnitPaidCents <= 0 })
	return sumCents(lineValues(items)), priced
}

// countOf is the inspection's count of the line sku; a line left out arrived
// with no unit.
func countOf(lines []LineInspection, sku string) LineInspection {
	if j := slices.IndexFunc(lines, func(l LineInspection) bool { return l.SKU == sku }); j >= 0 {
		return lines[j]
	}
	return LineInspection{SKU: sku}
}

// lineValues is each of the ticket's lines at what its returned units were
// paid (qty × unit_paid_cents), in the ticket's order.
func lineValues(items []Item) []LineCents {
	out := make([]LineCents, len(items))
	for i, it := range items {
		out[i] = LineCents{SKU: it.SKU, Cents: int64(it.Qty) * it.UnitPaidCents}
	}
	return out
}

// inspectedValues is each line at what the inspection refunds of it: the units
// received, less deductPercent of the damaged ones' price.
func inspectedValues(items []Item, lines []LineInspection, deductPercent int) []LineCents {
	out := make([]LineCents, len(items))
	for i, it := range items {
		out[i].SKU = it.SKU
		l := countOf(lines, it.SKU)
		out[i].Cents = int64(l.Received)*it.UnitPaidCents - int64(l.Damaged)*it.UnitPaidCents*int64(deductPercent)/100
	}
	return out
}

// InspectedRefund is what an inspection given line by line refunds: the
// requested amount in the proportion of the lines' value that arrived, less
// the deduction on the damaged units (deductPercent, 0 for a pass). A short
// shipment refunds only what arrived.
func InspectedRefund(t Ticket, lines []LineInspection, deductPercent int) int64 {
	return mulDiv(t.RequestedCents, sumCents(inspectedValues(t.Items, lines, deductPercent)), sumCents(lineValues(t.Items)))
}

// Allocate splits amount over lines in proportion to their weights (largest
// remainder, ties to the earlier line), so the parts sum to amount exactly;
// nil when there are no lines or no weight.
func Allocate(amount int64, weights []LineCents) []LineCents {
	total := sumCents(weights)
	if len(weights) == 0 || total <= 0 {
		return nil
	}
	out := make([]LineCents, len(weights))
	rems := make([]int64, len(weights))
	left := amount
	for i, w := range weights {
		out[i] = LineCents{SKU: w.SKU, Cents: mulDiv(amount, w.Cents, total)}
		rems[i] = mulRem(amount, w.Cents, total)
		left -= out[i].Cents
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rems[a] > rems[b]:
			return -1
		case rems[a] < rems[b]:
			return 1
		}
		return 0
	})
	for _, i := range order {
		if left == 0 {
			break
		}
		out[i].Cents++
		left--
	}
	return out
}

func sumCents(ls []LineCents) int64 {
	var s int64
	for _, l := range ls {
		s += l.Cents
	}
	return s
}

// mulDiv is a×b/c rounded down, for a, b, c ≥ 0 and c > 0, exact past int64's
// range (amounts reach 10^12 cents, so a×b reaches 10^24).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulRem is the remainder of a×b/c.
func mulRem(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	_, r := bits.Div64(hi, lo, uint64(c))
	return int64(r)
}

// lineTargets shares c, what the ticket may hold, among its lines: after an
// inspection given by line, first by what it refunds of each line (each line
// at most that), and past that by what each line's units were paid and is not
// yet counted (the platform awarding units that never arrived); otherwise by
// what the units were paid. Past every line's price (money the ticket charges
// back) it is shared by the prices.
func (d *decision) lineTargets(c int64) []LineCents {
	values := lineValues(d.t.Items)
	in := d.t.Inspection
	if in == nil || len(in.Lines) == 0 {
		return Allocate(c, values)
	}
	pct := 0
	if in.Result == InspectDeduct {
		pct = in.DeductPercent
	}
	inspected := inspectedValues(d.t.Items, in.Lines, pct)
	w := sumCents(inspected)
	switch {
	case w == 0:
		return Allocate(c, values)
	case c <= w:
		return Allocate(c, inspected)
	}
	rest := make([]LineCents, len(values))
	for i, v := range values {
		rest[i] = LineCents{SKU: v.SKU, Cents: max(v.Cents-inspected[i].Cents, 0)}
	}
	if sumCents(rest) < c-w {
		return Allocate(c, values)
	}
	out := Allocate(c-w, rest)
	for i := range out {
		out[i].Cents += inspected[i].Cents
	}
	return out
}

// shortNote names the units that did not arrive (", short: SKU-1 1 of 2"),
// or nothing when every unit did.
func shortNote(items []Item, lines []LineInspection) string {
	var short []string
	for _, it := range items {
		if got := countOf(lines, it.SKU).Received; got < it.Qty {
			short = append(short, fmt.Sprintf("%s %d of %d", it.SKU, got, it.Qty))
		}
	}
	if len(short) == 0 {
		return ""
	}
	return "; short shipment, received " + strings.Join(short, ", ")
}

// TicketLines is the ticket line by line, as answers show it: the requested
// amount shared as its units were paid, the inspection's finding, and the net
// of the movements that succeeded (refunds and repayments less charges back),
// each by the lines it carried. Nil for a ticket without lines.
func TicketLines(t Ticket) []Line {
	if len(t.Items) == 0 {
		return nil
	}
	requested := Allocate(t.RequestedCents, lineValues(t.Items))
	refunded := map[string]int64{}
	for _, r := range t.Refunds {
		if r.Status != RefundSucceeded {
			continue
		}
		for _, l := range r.Lines {
			refunded[l.SKU] += r.Purpose.LineSign() * l.Cents
		}
	}
	out := make([]Line, len(t.Items))
	for i, it := range t.Items {
		out[i] = Line{SKU: it.SKU, Qty: it.Qty, UnitPaidCents: it.UnitPaidCents, RefundedCents: refunded[it.SKU]}
		if requested != nil {
			out[i].RequestedCents = requested[i].Cents
		}
		switch in := t.Inspection; {
		case in != nil && len(in.Lines) > 0:
			c := countOf(in.Lines, it.SKU)
			got := c.Received
			out[i].Received, out[i].Damaged, out[i].Disposition = &got, c.Damaged, c.Disposition
		case in != nil && in.Result != InspectFail:
			got := it.Qty // passed whole: every unit came back
			out[i].Received = &got
		}
	}
	return out
}

// RefundBound is the most a revision may ask or an offer refund: what the
// order paid, and under RulesLines no more than what the ticket's units were
// paid when every line has a price. It names the bound for a refusal.
func (t Ticket) RefundBound() (int64, string) {
	worth, priced := UnitsWorth(t.Items)
	if t.Rules >= RulesLines && priced && worth < t.Order.PaidCents {
		return worth, fmt.Sprintf("the %d cents the units returned were paid", worth)
	}
	return t.Order.PaidCents, fmt.Sprintf("the %d cents paid", t.Order.PaidCents)
}

// LineSign is how a movement of purpose p counts toward what its lines
// refunded: +1 for refunds and repayments, -1 for charges back, 0 for money
// that pays for no line (a freight claim, a compensation). The same measure as
// Money.Refunded.
func (p Purpose) LineSign() int64 {
	switch p {
	case PurposeRefund, PurposeRepayment:
		return 1
	case PurposeRecovery, PurposeOverpaid:
		return -1
	}
	return 0
}

// OrderLine is one line of an order as its answer shows it: what was bought,
// and, across its tickets, the units they hold (KeptUnits: open tickets, and
// those that ended with money or goods moved), what they asked for it and
// received of it, and the net the ledger refunded for it.
type OrderLine struct {
	SKU            string   `json:"sku"`
	Qty            int      `json:"qty"`
	UnitPaidCents  int64    `json:"unit_paid_cents"`
	Category       Category `json:"category,omitempty"`
	ReturnedUnits  int      `json:"returned_units"`
	RequestedCents int64    `json:"requested_cents"`
	ReceivedUnits  int      `json:"received_units"`
	RefundedCents  int64    `json:"refunded_cents"`
}

// OrderLines is the order's lines with its tickets' figures added up (tickets
// that closed with nothing moved gave their units back and count for none) and
// refunded, the ledger's net per SKU (DB.OrderLineRefunds).
func OrderLines(items []Item, tickets []Ticket, refunded map[string]int64) []OrderLine {
	out := make([]OrderLine, len(items))
	for i, it := range items {
		out[i] = OrderLine{SKU: it.SKU, Qty: it.Qty, UnitPaidCents: it.UnitPaidCents, Category: it.Category, RefundedCents: refunded[it.SKU]}
	}
	for _, t := range tickets {
		if !t.HoldsUnits() {
			continue
		}
		kept := t.KeptUnits(t.Items)
		for k, l := range TicketLines(t) {
			if i := slices.IndexFunc(out, func(o OrderLine) bool { return o.SKU == l.SKU }); i >= 0 {
				out[i].ReturnedUnits += kept[k].Qty
				out[i].RequestedCents += l.RequestedCents
				if l.Received != nil {
					out[i].ReceivedUnits += *l.Received
				}
			}
		}
	}
	return out
}

// KeptUnits is what of lines (the units the ticket holds, by SKU) it keeps
// once it ended after an inspection given by line: the units received. The
// units that never arrived go back to the order, so the buyer may ask for them
// in a ticket of their own (lost in transit, not sent); an open ticket, or one
// inspected whole, keeps them all.
func (t Ticket) KeptUnits(lines []Item) []Item {
	in := t.Inspection
	if !t.State.Terminal() || in == nil || len(in.Lines) == 0 {
		return lines
	}
	out := make([]Item, 0, len(lines))
	for _, l := range lines {
		l.Qty = min(l.Qty, countOf(in.Lines, l.SKU).Received)
		out = append(out, l)
	}
	return out
}

// moneyLines shares a new movement of purpose among the ticket's lines
// (nil for money that pays for no line, or a ticket without priced lines). A
// refund or repayment fills each line toward its share of what the ticket may
// hold (its ceiling, shared by lineTargets), net of what its movements already
// hold there, paid or in flight; a charge back takes from what each line holds.
// So a line never holds more than its share, whatever number of keys paid it;
// money past every share (a late success before its charge back) is shared by
// the lines' prices.
func (d *decision) moneyLines(purpose Purpose, amount int64) []LineCents {
	sign := purpose.LineSign()
	values := lineValues(d.t.Items)
	if sign == 0 || sumCents(values) <= 0 {
		return nil
	}
	held := d.linesHeld(values)
	room := make([]LineCents, len(values))
	if sign > 0 {
		target := d.lineTargets(max(d.t.RefundCapCents, sumCents(held)+amount))
		for i := range room {
			room[i] = LineCents{SKU: values[i].SKU, Cents: max(target[i].Cents-held[i].Cents, 0)}
		}
	} else {
		for i := range room {
			room[i] = LineCents{SKU: values[i].SKU, Cents: max(held[i].Cents, 0)}
		}
	}
	if sumCents(room) < amount {
		return Allocate(amount, values)
	}
	return Allocate(amount, room)
}

// linesHeld is, per line of weights, the net the ticket's movements hold there:
// refunds and repayments less charges back, paid or in flight (not those the
// provider voided, failed or reversed).
func (d *decision) linesHeld(weights []LineCents) []LineCents {
	held := make([]LineCents, len(weights))
	for i, w := range weights {
		held[i].SKU = w.SKU
	}
	for _, r := range d.t.Refunds {
		if r.Status != RefundSucceeded && !MoneyInFlight(r.Status) {
			continue
		}
		for _, l := range r.Lines {
			if i := slices.IndexFunc(held, func(h LineCents) bool { return h.SKU == l.SKU }); i >= 0 {
				held[i].Cents += r.Purpose.LineSign() * l.Cents
			}
		}
	}
	return held
}
