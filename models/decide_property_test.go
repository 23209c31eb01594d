package models

// Property tests and a fuzz target for Decide (decide.go, table.go and the files it names,
// decide_money.go). A generator drives a ticket from NewTicket through a random
// sequence of inputs, simulating the world around it (the parties, couriers,
// payment providers, timers and the effects' results), and checks DESIGN.md §2's
// invariants after every step.
//
//	go test ./models -run Decide                          # 100 000 sequences
//	AFTERSALES_DECIDE_SEQUENCES=1000000 go test ./models -run TestDecideProperties
//	AFTERSALES_DECIDE_SEED=17 go test ./models -run TestDecideProperties -v   # one seed, every step
//	go test ./models -fuzz FuzzDecide -fuzztime 60s
//
// AFTERSALES_DECIDE_IGNORE=never-stuck,money/uncovered-overpayment leaves the named
// invariants (or parts of one) out, for
// exploring past a known failure; by default every invariant is checked.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// Sequences: a starting point and the steps applied to it.

// propCase is where a generated sequence starts: the application, the policy and
// the ticket id. The first step is always the Create input.
type propCase struct {
	ID     string
	Create CreateTicket
	Policy Policy
	Rules  int // the money rules the ticket runs under (Ticket.Rules)
}

// propStep is one input and the clock it is applied at.
type propStep struct {
	In  Input
	Now time.Time
}

// propViolation is one invariant that did not hold after a step.
type propViolation struct {
	Invariant string // the invariant and the part of it that failed: money/uncovered-overpayment
	Step      int
	Msg       string
}

// ---------------------------------------------------------------------------
// The invariants. Each reads the step's context and returns "" or what is wrong.

type propCtx struct {
	in      Input
	now     time.Time
	prev    Ticket // a deep copy of the ticket before the step
	passed  Ticket // the caller's ticket after the call: Decide must not touch it
	next    Ticket
	effs    []Effect
	err     error
	next2   Ticket // a second call on the same arguments
	effs2   []Effect
	err2    error
	pending []Effect // effects returned and not yet answered, after the step
}

// after is the ticket as the workflow keeps it after the step.
func (c *propCtx) after() Ticket {
	if c.err != nil {
		return c.prev
	}
	return c.next
}

var propInvariants = []struct {
	name  string
	check func(c *propCtx) string
}{
	{"refused-unchanged", propCheckRefused},     // 1
	{"money", propCheckMoney},                   // 2
	{"lookup-before-new-key", propCheckNewKey},  // 3
	{"terminal-final", propCheckTerminal},       // 4
	{"no-end-in-flight", propCheckEndInFlight},  // 5
	{"never-stuck", propCheckStuck},             // 6
	{"timeline-grows", propCheckTimeline},       // 7
	{"freight-only-returned", propCheckFreight}, // 8
	{"deterministic", propCheckDeterministic},   // 9
}

// 1. A refused input returns the ticket unchanged and no effects.
func propCheckRefused(c *propCtx) string {
	if c.err == nil {
		return ""
	}
	if code := ErrorCode(c.err); !slices.Contains([]string{EINVALID, ECONFLICT, ENOTFOUND, EFORBIDDEN}, code) {
		return fmt.Sprintf("error-type: refused with %v: not an *Error coded invalid, conflict, not_found or forbidden", c.err)
	}
	if !propEqual(c.next, c.prev) {
		return fmt.Sprintf("ticket-changed: refused (%v) but returned a changed ticket (fields %s)", c.err, propDiff(c.prev, c.next))
	}
	if len(c.effs) > 0 {
		return fmt.Sprintf("effects: refused (%v) but returned %d effects: %s", c.err, len(c.effs), propJSON(c.effs))
	}
	return ""
}

// 2. The money rules: keys unique, amounts positive, statuses only rise, the
// refunded figure kept, nothing refunded past the cap without an overpayment
// charge covering the excess, never more than the order paid.
func propCheckMoney(c *propCtx) string {
	if c.err != nil {
		return ""
	}
	p, n := c.prev, c.next
	seen := map[string]bool{}
	for _, m := range n.Refunds {
		if seen[m.Key] {
			return fmt.Sprintf("duplicate-key: key %s appears twice in refunds %s", m.Key, propMoneyString(n.Refunds))
		}
		seen[m.Key] = true
		if m.AmountCents <= 0 {
			return fmt.Sprintf("amount: movement %s (%s) has amount %d, not positive", m.Key, m.Purpose, m.AmountCents)
		}
		if _, ok := moneyRank[m.Status]; !ok {
			return fmt.Sprintf("status: movement %s has unknown status %q", m.Key, m.Status)
		}
	}
	for _, o := range p.Refunds {
		i := n.Refunds.Find(o.Key)
		if i < 0 {
			return fmt.Sprintf("key-lost: movement %s disappeared", o.Key)
		}
		m := n.Refunds[i]
		if m.AmountCents != o.AmountCents || m.Purpose != o.Purpose {
			return fmt.Sprintf("key-rewritten: movement %s changed from %s %d to %s %d", o.Key, o.Purpose, o.AmountCents, m.Purpose, m.AmountCents)
		}
		if moneyRank[m.Status] < moneyRank[o.Status] {
			return fmt.Sprintf("status-down: movement %s went down from %s to %s", o.Key, o.Status, m.Status)
		}
	}
	if !slices.EqualFunc(p.Refunds, n.Refunds, sameMovement) && n.RefundedCents != n.Refunds.Refunded() {
		return fmt.Sprintf("refunded-cents: refunded_cents %d but the movements net %d: %s", n.RefundedCents, n.Refunds.Refunded(), propMoneyString(n.Refunds))
	}
	paid := n.Refunds.Paid(PurposeRefund)
	charged := n.Refunds.Paid(PurposeOverpaid) + n.Refunds.InFlight(PurposeOverpaid)
	// The excess is charged back, or the ticket went to the platform with the
	// overpayment named (DESIGN §2): escalated for it, or, when the ticket had
	// already ended or was escalated for another reason, the platform told of it
	// (an overpayment_unrecovered entry; Decide sends the notify effect with it).
	named := n.Escalation != nil && strings.Contains(n.Escalation.Reason, "overpa") ||
		slices.ContainsFunc(n.Timeline, func(e Event) bool { return e.Action == "overpayment_unrecovered" })
	if n.Rules >= RulesMoneyAnchored {
		// Net of every charge back, paid or in flight, measured against the
		// ceiling less what the ledger said this ticket took the order over.
		return propCheckNet(n, p, named)
	}
	if over := paid - n.RefundCapCents; over > 0 && charged < over && !named {
		return fmt.Sprintf("uncovered-overpayment: refunds paid %d, %d over the cap %d, and only %d is charged back as overpayment: %s",
			paid, over, n.RefundCapCents, charged, propMoneyString(n.Refunds))
	}
	// A success for a key given up on is recorded truthfully (DESIGN §2), so the
	// net can pass what was paid while its overpayment charge is in flight.
	if net := n.Refunds.Refunded() - n.Refunds.InFlight(PurposeOverpaid); net > n.Order.PaidCents && !named {
		return fmt.Sprintf("net-over-paid: net refunded %d (not counting overpayment charges in flight) is more than the %d the order paid: %s",
			net, n.Order.PaidCents, propMoneyString(n.Refunds))
	}
	for _, m := range n.Refunds {
		if m.Purpose == PurposeRefund && p.Refunds.Find(m.Key) < 0 {
			if risk := paid + n.Refunds.InFlight(PurposeRefund) - charged; risk > n.Order.PaidCents {
				return fmt.Sprintf("risk-over-paid: new refund %s %d puts %d at risk (paid + in flight - charged back), more than the %d the order paid: %s",
					m.Key, m.AmountCents, risk, n.Order.PaidCents, propMoneyString(n.Refunds))
			}
		}
	}
	return ""
}

// propCheckNet is propCheckMoney's cap and order rules for a ticket under
// RulesMoneyAnchored: the buyer's net refund, less what charge backs in flight
// take back, never above the ceiling without the platform told; and a new
// refund never puts more at risk than the order paid.
func propCheckNet(n, p Ticket, named bool) string {
	m := n.Refunds
	back := m.ChargingBack()
	if over := m.Refunded() - back - m.Allowed(n.RefundCapCents); over > 0 && !named {
		return fmt.Sprintf("uncovered-overpayment: net refund %d (%d being charged back) is %d over the %d the ticket may hold: %s",
			m.Refunded(), back, over, m.Allowed(n.RefundCapCents), propMoneyString(m))
	}
	if net := m.Refunded() - back; net > n.Order.PaidCents && !named {
		return fmt.Sprintf("net-over-paid: net refunded %d (less charge backs in flight) is more than the %d the order paid: %s",
			net, n.Order.PaidCents, propMoneyString(m))
	}
	for _, r := range m {
		if r.Purpose == PurposeRefund && p.Refunds.Find(r.Key) < 0 {
			if risk := m.Refunded() + m.InFlight(PurposeRefund) - back; risk > n.Order.PaidCents {
				return fmt.Sprintf("risk-over-paid: new refund %s %d puts %d at risk (net + in flight - charging back), more than the %d the order paid: %s",
					r.Key, r.AmountCents, risk, n.Order.PaidCents, propMoneyString(m))
			}
		}
	}
	return ""
}

// 3. A new refund key is issued only when every earlier refund key is void,
// succeeded or reversed: a failed key is looked up before another takes its place.
func propCheckNewKey(c *propCtx) string {
	if c.err != nil {
		return ""
	}
	for i, m := range c.next.Refunds {
		if m.Purpose != PurposeRefund || c.prev.Refunds.Find(m.Key) >= 0 {
			continue
		}
		for _, e := range c.next.Refunds[:i] {
			if e.Purpose == PurposeRefund && MoneyInFlight(e.Status) {
				return fmt.Sprintf("key-while-in-flight: new refund key %s issued while %s is %s: %s", m.Key, e.Key, e.Status, propMoneyString(c.next.Refunds))
			}
		}
	}
	return ""
}

// 4. A terminal state never changes state or outcome; EndedAt is set when terminal.
func propCheckTerminal(c *propCtx) string {
	p, n := c.prev, c.after()
	if p.State.Terminal() {
		if n.State != p.State || n.Outcome != p.Outcome {
			return fmt.Sprintf("state-changed: ended %s/%s, then became %s/%s", p.State, p.Outcome, n.State, n.Outcome)
		}
		if p.EndedAt != nil && (n.EndedAt == nil || !n.EndedAt.Equal(*p.EndedAt)) {
			return fmt.Sprintf("ended-at-moved: ended_at moved from %v to %v", p.EndedAt, n.EndedAt)
		}
	}
	if n.State.Terminal() {
		switch {
		case n.EndedAt == nil:
			return fmt.Sprintf("ended-at-missing: state %s but ended_at is not set", n.State)
		case n.Outcome == "":
			return fmt.Sprintf("outcome-missing: state %s without an outcome", n.State)
		case n.Deadline != nil:
			return fmt.Sprintf("deadline-after-end: state %s still shows deadline %s", n.State, n.Deadline.Name)
		}
	}
	return ""
}

func propInFlight(status MoneyStatus) bool {
	return status == RefundPending || status == RefundSent || status == RefundFailed
}

// 5. A ticket never ends with money in flight that it started before the end.
func propCheckEndInFlight(c *propCtx) string {
	p, n := c.prev, c.after()
	if p.State.Terminal() || !n.State.Terminal() {
		return ""
	}
	for _, o := range p.Refunds {
		if i := n.Refunds.Find(o.Key); i >= 0 && propInFlight(n.Refunds[i].Status) {
			return fmt.Sprintf("ended-in-flight: became %s/%s while %s (%s %d) is %s: %s", n.State, n.Outcome, o.Key, o.Purpose,
				o.AmountCents, n.Refunds[i].Status, propMoneyString(n.Refunds))
		}
	}
	return ""
}

// propProgressing are the effects whose result can move a ticket on; a ticket
// waiting for one of them is not stuck.
var propProgressing = []EffectKind{EffectBookPickup, EffectBookSwap, EffectVerifyTracking,
	EffectShipReplacement, EffectSendToRepair, EffectMoveMoney, EffectLookupMoney}

// 6. A non-terminal ticket always has a deadline or an effect in flight; an
// escalated one always shows a deadline.
func propCheckStuck(c *propCtx) string {
	n := c.after()
	if n.State.Terminal() || n.Deadline != nil {
		return ""
	}
	if n.State == StateEscalated {
		return "escalated-no-deadline: escalated with no deadline: nothing in the ticket moves it on unless a verdict arrives from outside"
	}
	for _, e := range c.pending {
		if slices.Contains(propProgressing, e.Kind) {
			return ""
		}
	}
	return fmt.Sprintf("no-deadline: state %s has no deadline and no effect in flight (pending: %s)", n.State, propJSON(c.pending))
}

// 7. The timeline only grows, Seq by one per event.
func propCheckTimeline(c *propCtx) string {
	p, n := c.prev, c.next
	if len(n.Timeline) < len(p.Timeline) {
		return fmt.Sprintf("shrank: timeline shrank from %d to %d events", len(p.Timeline), len(n.Timeline))
	}
	for i := range p.Timeline {
		if n.Timeline[i] != p.Timeline[i] {
			return fmt.Sprintf("rewritten: timeline event %d rewritten: %s became %s", i, propJSON(p.Timeline[i]), propJSON(n.Timeline[i]))
		}
	}
	last := p.Seq
	if len(p.Timeline) > 0 && p.Timeline[len(p.Timeline)-1].Seq != p.Seq {
		return fmt.Sprintf("seq: seq %d but the last event has seq %d", p.Seq, p.Timeline[len(p.Timeline)-1].Seq)
	}
	for _, e := range n.Timeline[len(p.Timeline):] {
		if e.Seq != last+1 {
			return fmt.Sprintf("seq: event %s has seq %d after %d", e.Action, e.Seq, last)
		}
		if !e.At.Equal(c.now) {
			return fmt.Sprintf("at: event %s recorded at %v, not at the step's %v", e.Action, e.At, c.now)
		}
		last = e.Seq
	}
	if n.Seq != last {
		return fmt.Sprintf("seq: ticket seq %d but the last event has seq %d", n.Seq, last)
	}
	return ""
}

// 8. A freight-insurance claim exists only when the goods came back, and once.
func propCheckFreight(c *propCtx) string {
	n := c.after()
	claims := 0
	for _, m := range n.Refunds {
		if m.Purpose == PurposeFreight {
			claims++
			if !n.Logistics.Returned {
				return fmt.Sprintf("not-returned: freight claim %s while the goods did not come back (state %s, method %s)", m.Key, n.State, n.ReturnMethod)
			}
		}
	}
	if claims > 1 {
		return fmt.Sprintf("twice: %d freight claims: %s", claims, propMoneyString(n.Refunds))
	}
	return ""
}

// 9. Decide is pure: the same arguments give the same answer, and the caller's
// ticket is not touched.
func propCheckDeterministic(c *propCtx) string {
	if !propEqual(c.passed, c.prev) {
		return fmt.Sprintf("input-changed: Decide changed the caller's ticket (fields %s)", propDiff(c.prev, c.passed))
	}
	if !propEqual(c.next, c.next2) {
		return fmt.Sprintf("tickets-differ: two calls returned different tickets (fields %s)", propDiff(c.next, c.next2))
	}
	if !reflect.DeepEqual(c.effs, c.effs2) {
		return fmt.Sprintf("effects-differ: two calls returned different effects: %s vs %s", propJSON(c.effs), propJSON(c.effs2))
	}
	if !reflect.DeepEqual(c.err, c.err2) {
		return fmt.Sprintf("errors-differ: two calls returned different errors: %v vs %v", c.err, c.err2)
	}
	return ""
}

// ---------------------------------------------------------------------------
// The runner applies steps, keeps the world's effects in flight and checks the
// invariants.

type propRunner struct {
	p       Policy
	t       Ticket
	pending []Effect
	skip    map[string]bool
	steps   []propStep
	found   map[string]propViolation // the first violation of each invariant/part
	err     error                    // what Decide said to the last step
	trace   func(i int, s propStep, t Ticket, effs []Effect, err error)
}

func newPropRunner(c propCase, start time.Time, skip map[string]bool) *propRunner {
	t := NewTicket(c.ID, c.Create, c.Policy, start)
	t.Rules = c.Rules
	return &propRunner{p: c.Policy, t: t, skip: skip, found: map[string]propViolation{}}
}

// apply runs one step. strict refuses (ok=false) a result for an effect that is
// not in flight: a shrunk sequence must still be one the world could produce.
func (r *propRunner) apply(s propStep, strict bool) (ok bool) {
	if s.In.Result != nil {
		j := slices.IndexFunc(r.pending, func(e Effect) bool { return reflect.DeepEqual(e, s.In.Result.Effect) })
		if j < 0 {
			if strict {
				return false
			}
		} else {
			r.pending = slices.Delete(r.pending, j, j+1)
		}
	}
	i := len(r.steps)
	r.steps = append(r.steps, s)
	prev := propCopy(r.t)
	next, effs, err := Decide(r.t, r.p, s.In, s.Now)
	passed := r.t
	if !propEqual(passed, prev) {
		passed = propCopy(passed)
	}
	// The second call gets the same ticket again (a fresh copy if the first call
	// changed it, which the deterministic check then reports).
	next2, effs2, err2 := Decide(propCopy(prev), r.p, s.In, s.Now)
	c := &propCtx{in: s.In, now: s.Now, prev: prev, passed: passed, next: next, effs: effs, err: err,
		next2: next2, effs2: effs2, err2: err2}
	r.err = err
	if err == nil {
		r.t = next
		r.pending = append(r.pending, effs...)
	} else {
		r.t = prev
	}
	c.pending = r.pending
	if r.trace != nil {
		r.trace(i, s, r.t, effs, err)
	}
	for _, inv := range propInvariants {
		if r.skip[inv.name] {
			continue
		}
		if msg := inv.check(c); msg != "" {
			tag, _, _ := strings.Cut(msg, ": ")
			key := inv.name + "/" + tag
			if _, done := r.found[key]; !done && !r.skip[key] {
				r.found[key] = propViolation{Invariant: key, Step: i, Msg: msg}
			}
		}
	}
	return true
}

// propReplay runs steps from c and reports whether invariant inv fails, or nil
// when the steps are not a sequence the world could produce.
func propReplay(c propCase, steps []propStep, inv string) (propViolation, bool) {
	if len(steps) == 0 {
		return propViolation{}, false
	}
	r := newPropRunner(c, steps[0].Now, nil)
	for _, s := range steps {
		if !r.apply(s, true) {
			return propViolation{}, false
		}
		if v, bad := r.found[inv]; bad {
			return v, true
		}
	}
	return propViolation{}, false
}

// propShrink removes steps while invariant inv still fails, keeping the create.
func propShrink(c propCase, steps []propStep, inv string) ([]propStep, propViolation) {
	v, bad := propReplay(c, steps, inv)
	if !bad {
		return steps, v
	}
	cur := slices.Clone(steps[:v.Step+1])
	for changed := true; changed; {
		changed = false
		for i := len(cur) - 1; i >= 1; i-- {
			cand := slices.Delete(slices.Clone(cur), i, i+1)
			if w, bad := propReplay(c, cand, inv); bad {
				cur, v, changed = cand[:w.Step+1], w, true
				if i > len(cur) {
					i = len(cur)
				}
			}
		}
	}
	return cur, v
}

// ---------------------------------------------------------------------------
// The generator: a world that drives one ticket with random, plausible and
// implausible inputs.

// propSource feeds the fuzzer's bytes to the generator's choices first, then
// continues with a PCG seeded from them.
type propSource struct {
	data []byte
	pcg  *rand.PCG
}

func (s *propSource) Uint64() uint64 {
	if len(s.data) >= 8 {
		v := binary.LittleEndian.Uint64(s.data)
		s.data = s.data[8:]
		return v
	}
	return s.pcg.Uint64()
}

type propWorld struct {
	r        *rand.Rand
	c        propCase
	flagged  bool
	start    time.Time
	now      time.Time
	n        int
	couriers []CourierEvent
	payments []PaymentEvent
	run      *propRunner
}

var propStart = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func propPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (w *propWorld) chance(pct int) bool { return w.r.IntN(100) < pct }

func (w *propWorld) id(prefix string) string {
	w.n++
	return prefix + "-" + strconv.Itoa(w.n)
}

// newPropWorld draws the application, the policy and the buyer.
func newPropWorld(r *rand.Rand, name string) *propWorld {
	w := &propWorld{r: r, start: propStart.Add(time.Duration(r.IntN(1000)) * time.Minute)}
	w.now = w.start
	kind := propPick(r, Kinds...)
	var method ReturnMethod
	switch kind {
	case KindRefundOnly, KindPriceProtection:
		method = ReturnNone
	case KindExchange:
		method = propPick(r, ReturnPickup, ReturnSelfShip, ReturnSwapOnDelivery)
	default:
		method = propPick(r, ReturnPickup, ReturnSelfShip)
	}
	paid := propPick[int64](r, 1, 99, 12_00, 150_00, 499_99, 500_00, 500_01, 2999_99, 3000_00, 3000_01, 12000_00)
	var requested int64
	switch {
	case kind == KindExchange || kind == KindRepair:
		requested = propPick(r, 0, 0, paid, 1+r.Int64N(paid))
	default:
		requested = propPick(r, paid, paid, 1, 1+r.Int64N(paid))
	}
	reason := propPick(r, ReasonCodes...)
	if kind == KindPriceProtection {
		reason = ReasonPriceDrop
	}
	c := CreateTicket{
		OrderID: "o-" + name, ShopID: "shop-" + name, BuyerID: "buyer-" + name,
		Kind: kind, ReasonCode: reason, Reason: "generated " + string(reason),
		ReturnMethod: method, RequestedCents: requested, Currency: "CNY",
		Order: OrderInfo{PaidCents: paid, PaidAt: w.start.Add(-time.Duration(1+r.IntN(400)) * time.Hour),
			Shipped: w.chance(70), Delivered: w.chance(50), FreightInsurance: w.chance(50), SelfOperated: w.chance(20)},
		Items:       []Item{{SKU: "sku-1", Qty: 1, UnitPaidCents: paid}},
		BuyerCredit: r.IntN(6), RecentReturns: r.IntN(6),
	}
	if kind == KindExchange {
		c.ExchangeSKU = "sku-2"
	}
	if method == ReturnPickup || method == ReturnSwapOnDelivery {
		c.PickupAddress = "1 Generated Road"
	}
	c.Normalize()
	p := DefaultPolicy()
	p.Version = "prop-1"
	p.FastReview.Enabled = w.chance(50)
	p.FastReview.MaxCents = propPick[int64](r, p.FastReview.MaxCents, p.FastReview.MaxCents, 1<<40)
	p.FastReview.MinCredit = r.IntN(4)
	p.LightningRefund.Enabled = w.chance(60)
	p.LightningRefund.MinCredit = r.IntN(4)
	p.PickupAttempts = 1 + r.IntN(4)
	p.RefundAttempts = 1 + r.IntN(4)
	p.FreightClaimCents = propPick[int64](r, 0, 12_00, 12_00, 1)
	if err := c.Validate(); err != nil {
		panic(fmt.Sprintf("generator made an invalid application: %v", err))
	}
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("generator made an invalid policy: %v", err))
	}
	w.c = propCase{ID: "tk-" + name, Create: c, Policy: p, Rules: propPick(r, 0, RulesMoneyAnchored, RulesLines, RulesLines)}
	w.flagged = w.chance(20)
	return w
}

// advance moves the clock forward: mostly a little, sometimes days.
func (w *propWorld) advance() {
	switch x := w.r.IntN(100); {
	case x < 45:
	case x < 80:
		w.now = w.now.Add(time.Duration(1+w.r.IntN(180)) * time.Minute)
	case x < 95:
		w.now = w.now.Add(time.Duration(1+w.r.IntN(72)) * time.Hour)
	default:
		w.now = w.now.Add(time.Duration(1+w.r.IntN(20)) * 24 * time.Hour)
	}
}

func (w *propWorld) createInput() propStep {
	return propStep{Now: w.now, In: Input{Create: &CreateInput{Create: w.c.Create, Actor: w.c.Create.BuyerID,
		Role: RoleBuyer, RequestID: w.id("rq"), BuyerFlagged: w.flagged}}}
}

// next draws the next input from the world as it stands.
func (w *propWorld) next() propStep {
	w.advance()
	t := w.run.t
	x := w.r.IntN(100)
	switch {
	case x < 30:
		return propStep{Now: w.now, In: Input{Action: w.action(t)}}
	case x < 42:
		return propStep{Now: w.now, In: Input{Courier: w.courier(t)}}
	case x < 54:
		return propStep{Now: w.now, In: Input{Payment: w.payment(t)}}
	case x < 65:
		return w.deadline(t)
	case x < 94 && len(w.run.pending) > 0:
		return propStep{Now: w.now, In: Input{Result: w.result(w.run.pending[w.r.IntN(len(w.run.pending))])}}
	case x < 94:
		return propStep{Now: w.now, In: Input{Action: w.action(t)}}
	default:
		return propStep{Now: w.now, In: Input{Verdict: w.verdict(t)}}
	}
}

// amount is a refund amount around what the ticket deals in, now and then out of range.
func (w *propWorld) amount(t Ticket) int64 {
	paid := t.Order.PaidCents
	left := max(paid-t.Refunds.Paid(PurposeRefund)-t.Refunds.InFlight(PurposeRefund), 0)
	switch x := w.r.IntN(100); {
	case x < 25:
		return paid
	case x < 45:
		return max(t.RequestedCents, 1)
	case x < 65:
		return 1 + w.r.Int64N(paid)
	case x < 80:
		return left
	case x < 88:
		return max(paid/2, 1)
	case x < 94:
		return paid + 1
	default:
		return propPick[int64](w.r, 0, -5)
	}
}

func (w *propWorld) action(t Ticket) *ActionRequest {
	var act string
	if w.chance(70) {
		var allowed []string
		for _, a := range Actions {
			rule := actionRules[a]
			if rule.states == nil && !t.State.Terminal() || slices.Contains(rule.states, t.State) {
				allowed = append(allowed, a)
			}
		}
		if len(allowed) > 0 {
			act = propPick(w.r, allowed...)
		}
	}
	if act == "" {
		act = propPick(w.r, Actions...)
		if w.chance(2) {
			act = "bogus"
		}
	}
	role := propPick(w.r, Roles...)
	if rule, ok := actionRules[act]; ok && w.chance(80) {
		role = propPick(w.r, rule.roles...)
	}
	actor := map[Role]string{RoleBuyer: t.BuyerID, RoleSeller: t.ShopID, RolePlatform: "ops-1", RoleAdmin: "admin-1"}[role]
	if w.chance(4) {
		actor = propPick(w.r, "buyer-other", "shop-other", "")
	}
	b := ActionBody{}
	amount := func() *int64 { a := w.amount(t); return &a }
	switch act {
	case ActApprove, ActAcceptOffer, ActDeclineOffer:
		b.Note = propPick(w.r, "", "ok", "fine by me")
		if act == ActApprove && t.Kind == KindExchange && len(t.Items) > 0 && w.chance(60) {
			// The replacement at another price: dearer, cheaper, or now and then
			// an amount refused.
			unit := t.Items[0].UnitPaidCents
			price := propPick(w.r, unit+1+w.r.Int64N(unit/2+1), max(unit-1-w.r.Int64N(unit/2+1), 1), unit, 0)
			b.ExchangeUnitCents = &price
		}
	case ActReject, ActCancel:
		b.Reason = propPick(w.r, "not covered", "changed my mind", "", "  ")
	case ActOffer:
		if w.chance(95) {
			b.RefundCents = amount()
		}
		b.KeepItem = w.chance(50)
		b.Note = "how about this"
	case ActShip:
		b.Carrier = propPick(w.r, "SF", "YTO", "")
		b.TrackingNo = propPick(w.r, "SF1", "SF2", "YT9", "")
	case ActInspect:
		b.Result = propPick(w.r, InspectPass, InspectPass, InspectDeduct, InspectFail, "meh")
		b.DeductPercent = propPick(w.r, 0, 10, 30, 50, 60)
		b.Note = "inspected"
		if len(t.Items) > 0 && w.chance(50) {
			// Counted by line: each line, or some, with what arrived of it (now
			// and then more than was returned, or a line it does not return).
			for _, it := range t.Items {
				if w.chance(85) {
					got := w.r.IntN(it.Qty + 1 + min(w.r.IntN(10), 1)*w.r.IntN(2))
					b.Lines = append(b.Lines, LineInspection{SKU: it.SKU, Received: got, Damaged: w.r.IntN(got + 1),
						Disposition: propPick(w.r, DispositionRestock, DispositionNotRestock, DispositionScrap, "")})
				}
			}
			if w.chance(5) {
				b.Lines = append(b.Lines, LineInspection{SKU: "sku-stranger", Received: 1})
			}
		}
	case ActReply:
		b.Message = "we are looking into it"
	case ActReportDelay:
		b.Reason = propPick(w.r, "warehouse backlog", "")
		b.Extend = propPick(w.r, "24h", "72h", "1d", "96h", "0h", "soon")
	case ActEscalate:
		b.Reason = propPick(w.r, "unfair", "")
	case ActEvidence:
		b.Note = propPick(w.r, "photo of the damage", "")
		if w.chance(50) {
			b.URLs = []string{"https://example.com/p.jpg"}
		}
	case ActArbitrate:
		b.Verdict = propPick(w.r, VerdictSupportBuyer, VerdictSupportBuyer, VerdictSupportSeller, "maybe")
		if w.chance(90) {
			b.RefundCents = amount()
			if w.chance(20) {
				zero := int64(0)
				b.RefundCents = &zero
			}
		}
		b.Note = "decided"
	case ActRevise:
		if w.chance(60) {
			b.RequestedCents = amount()
		}
		b.Reason = propPick(w.r, "", "revised")
	case ActEvaluate:
		b.Score = w.r.IntN(7)
		b.Comment = "thanks"
	}
	return &ActionRequest{Action: act, Actor: actor, Role: role, RequestID: w.id("rq"), Body: b}
}

func (w *propWorld) courier(t Ticket) *CourierEvent {
	if len(w.couriers) > 0 && w.chance(20) { // a duplicated or late report
		ev := w.couriers[w.r.IntN(len(w.couriers))]
		return &ev
	}
	tracking := t.Logistics.TrackingNo
	if tracking == "" || w.chance(20) {
		tracking = propPick(w.r, "SF1", "PK7", "")
	}
	ev := CourierEvent{EventID: w.id("cev"), TicketID: t.ID, Type: propPick(w.r, CourierEventTypes...), TrackingNo: tracking, At: w.now}
	w.couriers = append(w.couriers, ev)
	return &ev
}

func (w *propWorld) payment(t Ticket) *PaymentEvent {
	if len(w.payments) > 0 && w.chance(15) { // a duplicated or late webhook
		ev := w.payments[w.r.IntN(len(w.payments))]
		return &ev
	}
	var key string
	switch {
	case len(t.Refunds) > 0 && w.chance(85):
		key = t.Refunds[w.r.IntN(len(t.Refunds))].Key
	case w.chance(50):
		key = RefundKey(t.ID, len(t.Refunds)+1+w.r.IntN(2))
	default:
		key = RefundKey("tk-other", 1)
	}
	ev := PaymentEvent{EventID: w.id("pev"), TicketID: t.ID, RefundKey: key,
		Status: propPick(w.r, RefundSucceeded, RefundFailed), ProviderRef: w.id("ref"), Reason: "provider says so"}
	w.payments = append(w.payments, ev)
	return &ev
}

var propDeadlineNames = []string{"review_by", "offer_response_by", "appeal_by", "pickup_by", "ship_by",
	"arrive_by", "inspect_by", "refund_by", "confirm_by", "repair_by", "evidence_by", "decide_by", "recover_by", "bogus_by"}

// deadline lets the running deadline pass, or fires a stale timer.
func (w *propWorld) deadline(t Ticket) propStep {
	if t.Deadline != nil && w.chance(80) {
		if t.Deadline.At.After(w.now) {
			w.now = t.Deadline.At
			if w.chance(20) {
				w.now = w.now.Add(time.Duration(1+w.r.IntN(90)) * time.Second)
			}
		}
		return propStep{Now: w.now, In: Input{Deadline: t.Deadline.Name}}
	}
	return propStep{Now: w.now, In: Input{Deadline: propPick(w.r, propDeadlineNames...)}}
}

// result is what the world answers to effect e.
func (w *propWorld) result(e Effect) *EffectResult {
	r := &EffectResult{Effect: e}
	fail := func(code, reason string) { r.Failed, r.Code, r.Reason = true, code, reason }
	switch e.Kind {
	case EffectBookPickup, EffectBookSwap:
		if w.chance(75) {
			r.BookingID = w.id("bk")
			if w.chance(50) {
				r.TrackingNo = propPick(w.r, "PK7", "SF1")
			}
		} else {
			fail("", "no courier available")
		}
	case EffectVerifyTracking:
		switch x := w.r.IntN(100); {
		case x < 60:
			r.Verified = true
		case x < 85:
		default:
			fail("", "carrier API down")
		}
	case EffectShipReplacement:
		if w.chance(80) {
			r.TrackingNo = w.id("rp")
		} else {
			fail("", "out of stock")
		}
	case EffectSendToRepair:
		if w.chance(80) {
			r.BookingID = w.id("rpo")
		} else {
			fail("", "repair centre refused")
		}
	case EffectMoveMoney:
		switch x := w.r.IntN(100); {
		case x < 30:
			r.Status = RefundSent
		case x < 55:
			r.Status = RefundSucceeded
		case x < 70:
			r.Status = RefundFailed
		case x < 85 && e.Purpose == PurposeRefund: // only refunds count against what the order paid
			fail(ECONFLICT, "the order's refunds would pass what was paid")
		default:
			fail(EUNAVAILABLE, "provider timed out")
		}
		if r.Status != "" {
			r.ProviderRef = w.id("ref")
		}
	case EffectLookupMoney:
		switch x := w.r.IntN(100); {
		case x < 35:
			r.Status = ""
		case x < 60:
			r.Status = RefundFailed
		case x < 90:
			r.Status = RefundSucceeded
		case x < 95:
			r.Status = RefundSent
		default:
			fail(EUNAVAILABLE, "provider timed out")
		}
	default: // cancel_pickup, start_escalation, send_evidence, end_escalation, notify
		if w.chance(15) {
			fail("", "gave up")
		}
	}
	return r
}

func (w *propWorld) verdict(t Ticket) *Verdict {
	v := &Verdict{Automatic: true, Verdict: propPick(w.r, VerdictSupportBuyer, VerdictSupportBuyer, VerdictSupportSeller)}
	if v.Verdict == VerdictSupportBuyer {
		if t.Escalation != nil && w.chance(60) {
			v.RefundCents = t.Escalation.ClaimCents
		} else {
			v.RefundCents = max(w.amount(t), 0)
		}
		v.Note = "no verdict by decide_by; the buyer answered"
	} else {
		v.Note = "no verdict by decide_by; only the seller answered"
	}
	return v
}

// propGenerate runs one generated sequence of steps (after the create) and
// returns the runner with what it found.
func propGenerate(r *rand.Rand, name string, steps int, skip map[string]bool) (*propWorld, *propRunner) {
	w := newPropWorld(r, name)
	run := newPropRunner(w.c, w.start, skip)
	w.run = run
	run.apply(w.createInput(), false)
	for range steps {
		run.apply(w.next(), false)
	}
	return w, run
}

// ---------------------------------------------------------------------------
// Reporting.

func propJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func propMoneyString(m Money) string {
	parts := make([]string, len(m))
	for i, r := range m {
		parts[i] = fmt.Sprintf("%s %s %d %s", r.Key[strings.LastIndex(r.Key, ":")+1:], r.Purpose, r.AmountCents, r.Status)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// propDiff names the fields of two tickets that differ.
func propDiff(a, b Ticket) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var names []string
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			names = append(names, va.Type().Field(i).Name)
		}
	}
	return strings.Join(names, ", ")
}

// propDescribe writes one step for a failure message.
func propDescribe(i int, s propStep, start time.Time) string {
	in := s.In
	var what string
	switch {
	case in.Create != nil:
		c := in.Create.Create
		what = fmt.Sprintf("create %s %s reason=%s requested=%d paid=%d credit=%d recent=%d freight_ins=%v flagged=%v",
			c.Kind, c.ReturnMethod, c.ReasonCode, c.RequestedCents, c.Order.PaidCents, c.BuyerCredit, c.RecentReturns,
			c.Order.FreightInsurance, in.Create.BuyerFlagged)
	case in.Action != nil:
		a := in.Action
		what = fmt.Sprintf("action %s by %s %q body=%s", a.Action, a.Role, a.Actor, propJSON(a.Body))
	case in.Courier != nil:
		what = fmt.Sprintf("courier %s tracking=%q (event %s)", in.Courier.Type, in.Courier.TrackingNo, in.Courier.EventID)
	case in.Payment != nil:
		what = fmt.Sprintf("payment %s %s (event %s)", in.Payment.RefundKey, in.Payment.Status, in.Payment.EventID)
	case in.Deadline != "":
		what = "deadline " + in.Deadline
	case in.Result != nil:
		e := in.Result.Effect
		e.Escalation = nil
		var answer map[string]any
		_ = json.Unmarshal([]byte(propJSON(in.Result)), &answer)
		delete(answer, "effect")
		what = fmt.Sprintf("result of %s: %s", propJSON(e), propJSON(answer))
	case in.Verdict != nil:
		what = "verdict " + propJSON(in.Verdict)
	}
	return fmt.Sprintf("  %2d  t+%-9s %s", i, s.Now.Sub(start), what)
}

func propPolicyString(p Policy) string {
	return fmt.Sprintf("fast_review=%v(max %d, credit>=%d) lightning=%v(credit>=%d) pickup_attempts=%d refund_attempts=%d freight_claim=%d",
		p.FastReview.Enabled, p.FastReview.MaxCents, p.FastReview.MinCredit, p.LightningRefund.Enabled,
		p.LightningRefund.MinCredit, p.PickupAttempts, p.RefundAttempts, p.FreightClaimCents)
}

// propReport shrinks a failing sequence and writes what failed.
func propReport(origin string, c propCase, steps []propStep, v propViolation) string {
	small, sv := propShrink(c, steps, v.Invariant)
	var b strings.Builder
	fmt.Fprintf(&b, "invariant %s failed (%s) at step %d: %s\n", v.Invariant, origin, v.Step, v.Msg)
	fmt.Fprintf(&b, "  policy: %s\n", propPolicyString(c.Policy))
	fmt.Fprintf(&b, "  minimal sequence (%d of %d steps) fails at its step %d: %s\n", len(small), v.Step+1, sv.Step, sv.Msg)
	for i, s := range small {
		b.WriteString(propDescribe(i, s, small[0].Now) + "\n")
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Copying tickets deeply, so a snapshot cannot share memory with the ticket
// Decide is given.

// propEqual is reflect.DeepEqual for tickets, written out because it runs
// several times a step. TestDecidePropCopyIsDeep fails when Ticket gains a field
// that it does not know.
func propEqual(a, b Ticket) bool {
	return a.ID == b.ID && a.RMA == b.RMA && a.OrderID == b.OrderID && a.ShopID == b.ShopID && a.BuyerID == b.BuyerID &&
		a.Kind == b.Kind && a.State == b.State && a.Outcome == b.Outcome && a.ReturnMethod == b.ReturnMethod &&
		a.ReasonCode == b.ReasonCode && a.Reason == b.Reason && a.RequestedCents == b.RequestedCents &&
		a.RefundedCents == b.RefundedCents && a.Currency == b.Currency && propPtrEq(a.Deadline, b.Deadline) &&
		a.Flags == b.Flags && a.PolicyVersion == b.PolicyVersion && a.Order == b.Order &&
		propSliceEq(a.Items, b.Items) && a.ExternalID == b.ExternalID && a.BuyerCredit == b.BuyerCredit &&
		a.ExchangeSKU == b.ExchangeSKU && propPtrEq(a.Exchange, b.Exchange) && a.PickupAddress == b.PickupAddress &&
		a.ReturnShippingPayer == b.ReturnShippingPayer && a.FastReviewRule == b.FastReviewRule &&
		propPtrEq(a.Offer, b.Offer) && a.Logistics == b.Logistics && propInspectionEq(a.Inspection, b.Inspection) &&
		propEscalationEq(a.Escalation, b.Escalation) && propPtrEq(a.FirstReplyAt, b.FirstReplyAt) &&
		propPtrEq(a.Evaluation, b.Evaluation) && (a.Refunds == nil) == (b.Refunds == nil) && slices.EqualFunc(a.Refunds, b.Refunds, sameMovement) &&
		a.RefundCapCents == b.RefundCapCents && a.Rules == b.Rules && a.OverduesAfterVerdict == b.OverduesAfterVerdict && a.RoomRefusals == b.RoomRefusals && a.VoidedBeforeVerdict == b.VoidedBeforeVerdict && a.PendingOutcome == b.PendingOutcome &&
		a.BuyerFlagged == b.BuyerFlagged && a.Replies == b.Replies && a.Escalations == b.Escalations &&
		propSliceEq(a.DelayReports, b.DelayReports) && propSliceEq(a.Lines, b.Lines) && a.CreatedAt == b.CreatedAt && a.UpdatedAt == b.UpdatedAt &&
		propPtrEq(a.EndedAt, b.EndedAt) && a.Seq == b.Seq && propSliceEq(a.Timeline, b.Timeline)
}

// propEqualFields are the fields propEqual compares.
var propEqualFields = strings.Fields(`ID RMA OrderID ShopID BuyerID Kind State Outcome ReturnMethod ReasonCode
	Reason RequestedCents RefundedCents Currency Deadline Flags PolicyVersion Order Items ExternalID BuyerCredit
	ExchangeSKU Exchange PickupAddress ReturnShippingPayer FastReviewRule Offer Logistics Inspection Escalation
	FirstReplyAt Evaluation Refunds RefundCapCents Rules OverduesAfterVerdict RoomRefusals VoidedBeforeVerdict PendingOutcome BuyerFlagged Replies Escalations DelayReports Lines
	CreatedAt UpdatedAt EndedAt Seq Timeline`)

func propPtrEq[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// propSliceEq is DeepEqual for slices of comparable values: nil differs from empty.
func propSliceEq[T comparable](a, b []T) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }

func propInspectionEq(a, b *Inspection) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Result == b.Result && a.DeductPercent == b.DeductPercent && a.Note == b.Note && propSliceEq(a.Lines, b.Lines)
}

func propEscalationEq(a, b *Escalation) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.By != b.By || a.Reason != b.Reason || a.From != b.From || a.EvidenceBy != b.EvidenceBy ||
		a.DecideBy != b.DecideBy || a.Verdict != b.Verdict || a.RefundCents != b.RefundCents ||
		a.ClaimCents != b.ClaimCents || a.Orphaned != b.Orphaned || a.Automatic != b.Automatic || (a.Evidence == nil) != (b.Evidence == nil) || len(a.Evidence) != len(b.Evidence) {
		return false
	}
	for i, n := range a.Evidence {
		m := b.Evidence[i]
		if n.Role != m.Role || n.At != m.At || n.Note != m.Note || !propSliceEq(n.URLs, m.URLs) {
			return false
		}
	}
	return true
}

func propPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func propCopy(t Ticket) Ticket {
	c := t
	c.Items = slices.Clone(t.Items)
	c.Refunds = slices.Clone(t.Refunds)
	for i := range c.Refunds {
		c.Refunds[i].Lines = slices.Clone(t.Refunds[i].Lines)
	}
	c.Lines = slices.Clone(t.Lines)
	c.Timeline = slices.Clone(t.Timeline)
	c.DelayReports = slices.Clone(t.DelayReports)
	c.Deadline = propPtr(t.Deadline)
	c.Offer = propPtr(t.Offer)
	c.Exchange = propPtr(t.Exchange)
	c.Inspection = propPtr(t.Inspection)
	if c.Inspection != nil {
		c.Inspection.Lines = slices.Clone(t.Inspection.Lines)
	}
	c.FirstReplyAt = propPtr(t.FirstReplyAt)
	c.Evaluation = propPtr(t.Evaluation)
	c.EndedAt = propPtr(t.EndedAt)
	if t.Escalation != nil {
		e := *t.Escalation
		if e.Evidence != nil {
			e.Evidence = make([]Note, len(t.Escalation.Evidence))
			for i, n := range t.Escalation.Evidence {
				n.URLs = slices.Clone(n.URLs)
				e.Evidence[i] = n
			}
		}
		c.Escalation = &e
	}
	return c
}

// TestDecidePropCopyIsDeep keeps propCopy honest when Ticket gains a field.
func TestDecidePropCopyIsDeep(t *testing.T) {
	copied := map[string]bool{"Items": true, "Refunds": true, "Timeline": true, "DelayReports": true, "Deadline": true,
		"Offer": true, "Inspection": true, "FirstReplyAt": true, "Evaluation": true, "EndedAt": true, "Escalation": true, "Lines": true, "Exchange": true}
	tt := reflect.TypeFor[Ticket]()
	for i := range tt.NumField() {
		f := tt.Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			if !copied[f.Name] {
				t.Errorf("Ticket.%s shares memory; propCopy in decide_property_test.go must copy it", f.Name)
			}
		}
		if !slices.Contains(propEqualFields, f.Name) {
			t.Errorf("Ticket.%s is new; propEqual in decide_property_test.go must compare it", f.Name)
		}
	}
	if n := reflect.TypeFor[Escalation]().NumField(); n != 11 {
		t.Errorf("Escalation has %d fields; propEqual and propCopy know 11", n)
	}
	if n := reflect.TypeFor[Note]().NumField(); n != 4 {
		t.Errorf("Note has %d fields; propEqual and propCopy know 4", n)
	}
}

// ---------------------------------------------------------------------------
// The tests.

func propEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func propSkip() map[string]bool {
	skip := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("AFTERSALES_DECIDE_IGNORE"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			skip[n] = true
		}
	}
	return skip
}

const (
	propSteps   = 32            // steps per sequence after the create (AFTERSALES_DECIDE_STEPS)
	propStream  = 0x5eed_a5a1e5 // the PCG's second word; the first is the sequence's seed
	propDefault = 100_000
)

func propRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, propStream)) }

// TestDecideProperties runs AFTERSALES_DECIDE_SEQUENCES (default 100 000)
// generated sequences and checks every invariant after every step. A failing
// invariant is reported once, with the lowest failing seed, how many sequences it
// failed in, and a shrunk sequence that still fails it.
func TestDecideProperties(t *testing.T) {
	skip := propSkip()
	if s := os.Getenv("AFTERSALES_DECIDE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AFTERSALES_DECIDE_SEED=%q: %v", s, err)
		}
		propOneSeed(t, seed, propEnvInt("AFTERSALES_DECIDE_STEPS", propSteps), skip)
		return
	}
	n := propEnvInt("AFTERSALES_DECIDE_SEQUENCES", propDefault)
	steps := propEnvInt("AFTERSALES_DECIDE_STEPS", propSteps)
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // the sequences allocate much and keep little
	if testing.Short() {
		n = min(n, 10_000)
	}
	type first struct {
		seed  uint64
		count int
	}
	var (
		mu      sync.Mutex
		found   = map[string]*first{}
		wg      sync.WaitGroup
		workers = runtime.GOMAXPROCS(0)
		begin   = time.Now()
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]*first{}
			for seed := uint64(w); seed < uint64(n); seed += uint64(workers) {
				_, run := propGenerate(propRand(seed), strconv.FormatUint(seed, 10), steps, skip)
				for name := range run.found {
					if f := local[name]; f == nil {
						local[name] = &first{seed: seed, count: 1}
					} else {
						f.count++
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for name, l := range local {
				if f := found[name]; f == nil {
					found[name] = l
				} else {
					f.count += l.count
					f.seed = min(f.seed, l.seed)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d sequences of %d steps in %v", n, steps+1, time.Since(begin).Round(time.Millisecond))
	for _, key := range slices.Sorted(maps.Keys(found)) {
		f := found[key]
		w, run := propGenerate(propRand(f.seed), strconv.FormatUint(f.seed, 10), steps, skip)
		v := run.found[key]
		t.Errorf("%d of %d sequences break it; lowest seed %d (AFTERSALES_DECIDE_SEED=%d go test ./models -run TestDecideProperties -v)\n%s",
			f.count, n, f.seed, f.seed, propReport(fmt.Sprintf("seed %d", f.seed), w.c, run.steps, v))
	}
}

// propOneSeed runs one seed and logs every step.
func propOneSeed(t *testing.T, seed uint64, steps int, skip map[string]bool) {
	w := newPropWorld(propRand(seed), strconv.FormatUint(seed, 10))
	run := newPropRunner(w.c, w.start, skip)
	w.run = run
	run.trace = func(i int, s propStep, tk Ticket, effs []Effect, err error) {
		var kinds []string
		for _, e := range effs {
			kinds = append(kinds, string(e.Kind)+" "+e.Key)
		}
		t.Logf("%s\n        -> %s/%s err=%v effects=%v money=%s", propDescribe(i, s, w.start), tk.State, tk.Outcome, err, kinds, propMoneyString(tk.Refunds))
	}
	t.Logf("policy: %s", propPolicyString(w.c.Policy))
	run.apply(w.createInput(), false)
	for range steps {
		run.apply(w.next(), false)
	}
	for _, key := range slices.Sorted(maps.Keys(run.found)) {
		t.Errorf("%s", propReport(fmt.Sprintf("seed %d", seed), w.c, run.steps, run.found[key]))
	}
}

// FuzzDecide drives the same generator from the fuzzer's bytes: they make the
// first choices, then a PCG seeded from them makes the rest.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{"", "a", "refund", "\x00\x01\x02\x03\x04\x05\x06\x07", strings.Repeat("\xff", 64),
		strings.Repeat("escalate", 16), "lightning refund then recovery"} {
		f.Add([]byte(s))
	}
	skip := propSkip()
	f.Fuzz(func(t *testing.T, data []byte) {
		h := fnv.New64a()
		h.Write(data)
		r := rand.New(&propSource{data: slices.Clone(data), pcg: rand.NewPCG(h.Sum64(), propStream)})
		w, run := propGenerate(r, "fz", propSteps, skip)
		for _, key := range slices.Sorted(maps.Keys(run.found)) {
			t.Errorf("%s", propReport(fmt.Sprintf("fuzz input %x", data), w.c, run.steps, run.found[key]))
		}
	})
}

// ---------------------------------------------------------------------------
// The failures the generator found, as short scripts. Each fails (t.Errorf, not
// skipped) while the bug it names is in Decide.

// propScript drives one ticket by hand through the same runner and invariants.
type propScript struct {
	t   *testing.T
	c   propCase
	run *propRunner
	now time.Time
}

func newPropScript(t *testing.T, c CreateTicket, edit func(*Policy)) *propScript {
	t.Helper()
	c.OrderID, c.ShopID, c.BuyerID, c.Currency = "o-1", "shop-1", "buyer-1", "CNY"
	c.Order.PaidAt = propStart.Add(-24 * time.Hour)
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatalf("script application: %v", err)
	}
	p := DefaultPolicy()
	p.Version = "prop-script"
	if edit != nil {
		edit(&p)
	}
	s := &propScript{t: t, c: propCase{ID: "tk-1", Create: c, Policy: p}, now: propStart}
	s.run = newPropRunner(s.c, propStart, nil)
	s.step(Input{Create: &CreateInput{Create: c, Actor: c.BuyerID, Role: RoleBuyer, RequestID: "rq-0"}})
	return s
}

// step applies in now; it returns Decide's error.
func (s *propScript) step(in Input) error {
	s.t.Helper()
	if !s.run.apply(propStep{In: in, Now: s.now}, true) {
		s.t.Fatalf("script bug: no effect in flight for %s", propJSON(in.Result.Effect))
	}
	s.now = s.now.Add(time.Minute)
	return s.run.err
}

func (s *propScript) pay(key string, status MoneyStatus) {
	s.step(Input{Payment: &PaymentEvent{EventID: "pev-" + string(status) + key, TicketID: "tk-1", RefundKey: key, Status: status}})
}

func (s *propScript) pass() {
	s.t.Helper()
	d := s.run.t.Deadline
	if d == nil {
		s.t.Fatalf("script bug: no deadline runs in %s", s.run.t.State)
	}
	s.now = d.At
	if err := s.step(Input{Deadline: d.Name}); err != nil {
		s.t.Fatalf("deadline %s: %v", d.Name, err)
	}
}

func (s *propScript) act(role Role, action string, b ActionBody) {
	s.t.Helper()
	actor := map[Role]string{RoleBuyer: "buyer-1", RoleSeller: "shop-1", RolePlatform: "ops-1", RoleAdmin: "admin-1"}[role]
	s.step(Input{Action: &ActionRequest{Action: action, Actor: actor, Role: role, RequestID: "rq-" + action, Body: b}})
}

// answer feeds the result of the effect in flight of kind for key.
func (s *propScript) answer(kind EffectKind, key string, r EffectResult) {
	s.t.Helper()
	for _, e := range slices.Backward(s.run.pending) {
		if e.Kind == kind && e.Key == key {
			r.Effect = e
			s.step(Input{Result: &r})
			return
		}
	}
	s.t.Fatalf("script bug: no %s %s in flight", kind, key)
}

// want reports the invariant (or invariant/part) if it failed, with the script.
func (s *propScript) want(inv, bug string) {
	s.t.Helper()
	for _, key := range slices.Sorted(maps.Keys(s.run.found)) {
		if key == inv || strings.HasPrefix(key, inv+"/") {
			s.t.Errorf("BUG %s\n%s", bug, propReport("script "+s.t.Name(), s.c, s.run.steps, s.run.found[key]))
		}
	}
}

func propKey(n int) string { return RefundKey("tk-1", n) }

func TestDecidePropertyRegressions(t *testing.T) {
	refundOnly := CreateTicket{Kind: KindRefundOnly, ReasonCode: ReasonNotReceived, RequestedCents: 100_00,
		Order: OrderInfo{PaidCents: 100_00}, BuyerCredit: 3}
	noFastReview := func(p *Policy) { p.FastReview.Enabled = false }

	t.Run("cancel ends the ticket while a failed refund may still pay", func(t *testing.T) {
		s := newPropScript(t, refundOnly, noFastReview)
		s.pass() // review_by: auto-approve, refund 1 sent
		s.pay(propKey(1), RefundFailed)
		s.act(RoleBuyer, ActCancel, ActionBody{Reason: "changed my mind"})
		s.want("no-end-in-flight", "CheckAction lets the buyer cancel while refund 1 is failed (not void): "+
			"MoneyMoved (actions.go) does not count a failed key, which the lookup may still find paid")
	})

	t.Run("escalated ticket without a deadline after decide_by", func(t *testing.T) {
		s := newPropScript(t, CreateTicket{Kind: KindReturnRefund, ReasonCode: ReasonNoReason, ReturnMethod: ReturnSelfShip,
			RequestedCents: 100_00, Order: OrderInfo{PaidCents: 100_00}, BuyerCredit: 3}, noFastReview)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "used"})
		s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "it is not"})
		s.pass() // evidence_by
		s.now = s.run.t.Escalation.DecideBy
		s.step(Input{Deadline: "decide_by"}) // applied or refused, the ticket must not be left without one
		s.want("never-stuck", "deadline(decide_by) in statetable.go sets Deadline to nil and waits for a verdict "+
			"from the escalation child; if that child failed to start (escalation_failed) nothing ever moves the ticket")
	})

	t.Run("a verdict counts a replaced key in flight on top of what was paid", func(t *testing.T) {
		s := newPropScript(t, refundOnly, nil) // fast review: refund 1 at once
		s.pay(propKey(1), RefundFailed)
		s.answer(EffectLookupMoney, propKey(1), EffectResult{Status: RefundFailed}) // void: refund 2 replaces it
		s.pay(propKey(1), RefundSucceeded)                                          // paid after all
		s.pass()                                                                    // refund_by: forced, lookups
		s.pass()                                                                    // refund_by again: escalated
		s.step(Input{Verdict: &Verdict{Verdict: VerdictSupportBuyer, RefundCents: 0, Automatic: true}})
		s.pay(propKey(2), RefundSucceeded)
		s.want("money", "refund() and verdict's support_seller branch (decide_money.go) set RefundCapCents = "+
			"paid + in flight (+ amount) without capping it at what the order paid: 2x here, so refund 2 "+
			"succeeding is not charged back")
	})

	t.Run("an overpayment charge the provider voids is forgotten", func(t *testing.T) {
		s := newPropScript(t, refundOnly, nil)
		s.pay(propKey(1), RefundFailed)
		s.answer(EffectLookupMoney, propKey(1), EffectResult{Status: RefundFailed}) // void: refund 2
		s.pay(propKey(2), RefundSucceeded)                                          // completed, refunded
		s.pay(propKey(1), RefundSucceeded)                                          // late: overpayment charge 3
		s.pay(propKey(3), RefundFailed)
		s.answer(EffectLookupMoney, propKey(3), EffectResult{Status: RefundFailed}) // the charge is void
		s.want("money", "moneyVoid (decide_money.go) only settles: a void overpayment charge is neither charged "+
			"again nor escalated with the overpayment named")
	})

	t.Run("a verdict for the seller forgives an overpayment", func(t *testing.T) {
		s := newPropScript(t, refundOnly, nil)
		s.pay(propKey(1), RefundFailed)
		s.answer(EffectLookupMoney, propKey(1), EffectResult{Status: RefundFailed}) // void: refund 2
		s.pay(propKey(1), RefundSucceeded)                                          // paid after all
		s.pay(propKey(2), RefundSucceeded)                                          // overpaid: charge 3
		s.pass()                                                                    // refund_by: forced, lookups
		s.pass()                                                                    // refund_by again: escalated
		s.step(Input{Verdict: &Verdict{Verdict: VerdictSupportSeller, Automatic: true}})
		s.pay(propKey(3), RefundFailed)
		s.answer(EffectLookupMoney, propKey(3), EffectResult{Status: RefundFailed}) // the charge is void
		s.want("money", "verdict's support_seller branch (decide_money.go) sets RefundCapCents = paid + owed in "+
			"flight, raising the cap to what was overpaid, so the void charge is not asked again")
	})

	t.Run("an ended ticket gives up on an overpayment", func(t *testing.T) {
		s := newPropScript(t, refundOnly, func(p *Policy) { p.RefundAttempts = 1 })
		s.pay(propKey(1), RefundFailed)
		s.answer(EffectLookupMoney, propKey(1), EffectResult{Status: RefundFailed}) // void: 1 attempt used, escalated
		s.step(Input{Verdict: &Verdict{Verdict: VerdictSupportSeller, Automatic: true}})
		s.pay(propKey(1), RefundSucceeded) // paid after all: overpayment charge 2
		s.pay(propKey(2), RefundFailed)
		s.answer(EffectLookupMoney, propKey(2), EffectResult{Status: RefundFailed}) // the charge is void
		s.want("money", "chargeOverpayment (decide_money.go): an ended ticket whose charge-back the provider "+
			"voided refund_attempts times must name the overpayment to the platform")
		tk := s.run.t
		if !slices.ContainsFunc(tk.Timeline, func(e Event) bool { return e.Action == "overpayment_unrecovered" }) {
			t.Errorf("no overpayment_unrecovered entry: %+v", tk.Timeline)
		}
	})

	t.Run("a refund the ledger refuses", func(t *testing.T) {
		s := newPropScript(t, refundOnly, nil)
		s.answer(EffectMoveMoney, propKey(1), EffectResult{Failed: true, Code: ECONFLICT, Reason: "order cap"})
		tk := s.run.t
		if len(tk.Refunds) != 1 || tk.State != StateEscalated {
			t.Errorf("BUG result (decide_money.go): after ECONFLICT want 1 movement (void) and escalated; got %s, state %s",
				propMoneyString(tk.Refunds), tk.State)
		}
		if tk.Escalation != nil && tk.Escalation.ClaimCents != tk.Order.PaidCents {
			t.Errorf("BUG result (decide_money.go): the escalation starts before the refused key is void, so "+
				"ClaimCents counts it in flight: claim %d, want %d (nothing was or will be paid); the automatic "+
				"verdict then awards the buyer 0", tk.Escalation.ClaimCents, tk.Order.PaidCents)
		}
	})
}

// sameMovement: the two are one movement at one status, lines included.
func sameMovement(a, b Refund) bool {
	return a.Key == b.Key && a.AmountCents == b.AmountCents && a.Purpose == b.Purpose && a.Status == b.Status &&
		a.ProviderRef == b.ProviderRef && a.Unanswered == b.Unanswered && a.OrderOverCents == b.OrderOverCents &&
		a.Contradicted == b.Contradicted && propSliceEq(a.Lines, b.Lines)
}
