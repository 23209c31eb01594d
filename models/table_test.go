package models

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The state table's enumeration: every state × every input, on a representative
// ticket in that state reached by a short story through Decide, under both money
// rules versions. An input the table does not declare for a state must be
// refused (a pair nobody decided is visible as a refusal, never as a silent
// path), and an accepted one must lead where its entry says. The outcomes are
// what docs/state-table.md prints (table_doc_test.go).

// scene is a representative ticket in one state: the story that gets it there.
type scene struct {
	state  State
	label  string
	create CreateTicket
	policy func(*Policy)
	steps  func(s *story)
}

var (
	selfShipReturn = CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip}
	pickupReturnC  = CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnPickup, PickupAddress: "1 Road"}
	lightningC     = CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnPickup, PickupAddress: "1 Road", BuyerCredit: 3}
	selfShipSwap   = CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSelfShip, ExchangeSKU: "L"}
	swapVisit      = CreateTicket{Kind: KindExchange, ReturnMethod: ReturnSwapOnDelivery, ExchangeSKU: "L", PickupAddress: "1 Road"}
	selfShipRepair = CreateTicket{Kind: KindRepair, ReturnMethod: ReturnSelfShip}
)

func lightningOn(p *Policy) { p.LightningRefund.Enabled = true }

// Steps of the stories.
func approve(s *story) { s.act(RoleSeller, ActApprove, ActionBody{}) }
func shipped(s *story) {
	approve(s)
	s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
}
func arrived(s *story)   { shipped(s); s.courier(CourierDelivered) }
func inspected(s *story) { arrived(s); s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass}) }
func escalatedStory(s *story) {
	s.act(RoleSeller, ActReject, ActionBody{Reason: "not covered"})
	s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "it is broken"})
}
func booked(kind EffectKind) func(s *story) {
	return func(s *story) { approve(s); s.answer(s.last(kind), EffectResult{BookingID: "PU-1"}) }
}
func recovering(s *story) {
	approve(s)
	s.courier(CourierPickedUp)
	s.pay(s.last(EffectMoveMoney).Key, RefundSucceeded)
	s.pass("arrive_by")
}

var scenes = []scene{
	{StatePendingReview, "a return the buyer ships, just created", selfShipReturn, nil, func(*story) {}},
	{StateNegotiating, "a return the buyer ships; the seller offered 40.00, the buyer keeping the item", selfShipReturn, nil, func(s *story) {
		s.act(RoleSeller, ActOffer, ActionBody{RefundCents: ptr[int64](4000), KeepItem: true})
	}},
	{StateRejected, "a return the buyer ships; the seller rejected it", selfShipReturn, nil, func(s *story) {
		s.act(RoleSeller, ActReject, ActionBody{Reason: "not covered"})
	}},
	{StateAwaitingPickup, "a return by pickup, approved, the visit booked", pickupReturnC, nil, booked(EffectBookPickup)},
	{StateAwaitingPickup, "an exchange by swap on delivery, approved, the visit booked", swapVisit, nil, booked(EffectBookSwap)},
	{StateAwaitingBuyerShipment, "a return the buyer ships, approved", selfShipReturn, nil, approve},
	{StateInTransit, "a return the buyer shipped (tracking SF1)", selfShipReturn, nil, shipped},
	{StateAwaitingInspection, "a return delivered to the seller", selfShipReturn, nil, arrived},
	{StateRefunding, "a return that passed inspection; the refund (key 1) in flight", selfShipReturn, nil, inspected},
	{StateReplacementShipping, "an exchange that passed inspection; the replacement shipped", selfShipSwap, nil, inspected},
	{StateRepairing, "a repair delivered to the seller", selfShipRepair, nil, arrived},
	{StateEscalated, "a return the buyer ships, rejected, escalated by the buyer; evidence_by runs", selfShipReturn, nil, escalatedStory},
	{StateEscalated, "the same after evidence_by; decide_by runs in the escalation", selfShipReturn, nil, func(s *story) {
		escalatedStory(s)
		s.pass("evidence_by")
	}},
	{StateEscalated, "the same, but the escalation's process failed; decide_by runs on the ticket", selfShipReturn, nil, func(s *story) {
		escalatedStory(s)
		s.answer(s.last(EffectStartEscalation), EffectResult{Failed: true, Reason: "child failed"})
		s.pass("evidence_by")
	}},
	{StateRecovering, "a lightning-refunded return by pickup, paid, never delivered by arrive_by; the recovery (key 2) in flight", lightningC, lightningOn, recovering},
	{StateCompleted, "a return refunded in full (key 1 paid)", selfShipReturn, nil, func(s *story) {
		inspected(s)
		s.pay(s.last(EffectMoveMoney).Key, RefundSucceeded)
	}},
	{StateClosed, "a return withdrawn by the buyer while pending review", selfShipReturn, nil, func(s *story) {
		s.act(RoleBuyer, ActCancel, ActionBody{Reason: "changed my mind"})
	}},
	{StateClosed, "a lightning refund recovered (key 2, the recovery, paid)", lightningC, lightningOn, func(s *story) {
		recovering(s)
		s.pay(s.last(EffectMoveMoney).Key, RefundSucceeded)
	}},
}

// build tells the scene's story under the money rules version rules.
func (sc scene) build(t *testing.T, rules int) *story {
	t.Helper()
	s := newStoryUnder(t, rules, sc.create, sc.policy)
	sc.steps(s)
	if s.tk.State != sc.state {
		t.Fatalf("scene %q (rules %d) ends in %s, not %s", sc.label, rules, s.tk.State, sc.state)
	}
	return s
}

// probe is one input tried on a scene's ticket.
type probe struct {
	label string
	in    Input
	at    time.Time
}

// actionBodies: a valid body for each action, so a refusal is about the state.
func actionBody(t Ticket, action string) ActionBody {
	switch action {
	case ActApprove, ActAcceptOffer, ActDeclineOffer:
		return ActionBody{Note: "ok"}
	case ActReject:
		return ActionBody{Reason: "not covered"}
	case ActOffer:
		return ActionBody{RefundCents: ptr[int64](4000), KeepItem: true, Note: "how about this"}
	case ActShip:
		return ActionBody{Carrier: "SF", TrackingNo: "SF9"}
	case ActInspect:
		return ActionBody{Result: InspectPass, Note: "fine"}
	case ActReply:
		return ActionBody{Message: "looking into it"}
	case ActReportDelay:
		return ActionBody{Reason: "warehouse backlog", Extend: "24h"}
	case ActEscalate:
		return ActionBody{Reason: "unfair"}
	case ActEvidence:
		return ActionBody{Note: "photo of the damage"}
	case ActArbitrate:
		return ActionBody{Verdict: VerdictSupportSeller, Note: "decided"}
	case ActCancel:
		return ActionBody{Reason: "changed my mind"}
	case ActRevise:
		return ActionBody{Reason: "revised"}
	case ActEvaluate:
		return ActionBody{Score: 5, Comment: "thanks"}
	case ActReconcile:
		return ActionBody{Key: newestKey(t), Status: RefundSucceeded, Note: "seen in the provider's console"}
	}
	return ActionBody{}
}

// newestKey is the ticket's newest money key, or the key its first movement
// would have.
func newestKey(t Ticket) string {
	if n := len(t.Refunds); n > 0 {
		return t.Refunds[n-1].Key
	}
	return RefundKey(t.ID, 1)
}

// probes lists every input tried on ticket tk at now.
func probes(tk Ticket, now time.Time) []probe {
	var ps []probe
	for _, a := range Actions {
		role := actionRules[a].roles[0]
		req := ActionRequest{Action: a, Actor: subjects[role], Role: role, RequestID: "rq-" + a, Body: actionBody(tk, a)}
		ps = append(ps, probe{"action `" + a + "` by " + string(role), Input{Action: &req}, now})
	}
	for _, typ := range CourierEventTypes {
		ev := CourierEvent{EventID: "cev-" + typ, TicketID: tk.ID, Type: typ, TrackingNo: tk.Logistics.TrackingNo, At: now}
		ps = append(ps, probe{"courier `" + typ + "`", Input{Courier: &ev}, now})
	}
	for _, status := range []MoneyStatus{RefundSucceeded, RefundFailed} {
		ev := PaymentEvent{EventID: "pev-" + string(status), TicketID: tk.ID, RefundKey: newestKey(tk), Status: status, ProviderRef: "ref-1"}
		ps = append(ps, probe{"payment `" + string(status) + "` (newest key)", Input{Payment: &ev}, now})
	}
	other := "review_by"
	if tk.Deadline != nil {
		ps = append(ps, probe{"deadline `" + tk.Deadline.Name + "` (running, due)", Input{Deadline: tk.Deadline.Name}, later(now, tk.Deadline.At)})
		if tk.Deadline.Name == other {
			other = "arrive_by"
		}
	}
	ps = append(ps, probe{"deadline `" + other + "` (not running)", Input{Deadline: other}, now})
	ps = append(ps, probe{"deadline `" + ReconcileBy + "` (the run's check after the end)", Input{Deadline: ReconcileBy}, now})
	v := Verdict{Verdict: VerdictSupportSeller, Automatic: true, Note: "no verdict by decide_by; nobody answered"}
	ps = append(ps, probe{"the escalation's verdict (support_seller)", Input{Verdict: &v}, now})
	return ps
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// declared says which entry of the table takes in on ticket t: its name, and
// the states it may lead to (stays: it may leave the state as it is). ok is
// false when the table declares nothing for in's kind in t's state; name is ""
// when it declares something but no guard matches.
func declared(t Ticket, in Input) (name string, to []State, stays, ok bool) {
	switch {
	case in.Action != nil:
		rule, known := actionRules[in.Action.Action]
		if !known || !rule.allows(t.State) {
			return "", nil, false, false
		}
		return in.Action.Action, rule.to, rule.stays, true
	case in.Courier != nil:
		return declaredIn(courierRules, in.Courier.Type, t, *in.Courier)
	case in.Payment != nil:
		return declaredIn(paymentRules, string(in.Payment.Status), t, *in.Payment)
	case in.Deadline != "":
		return declaredIn(deadlineRules, in.Deadline, t, in.Deadline)
	case in.Verdict != nil:
		return declaredIn(verdictRules, in.Verdict.Verdict, t, *in.Verdict)
	}
	return "", nil, false, false
}

func declaredIn[E any](rules []Transition[E], on string, t Ticket, in E) (name string, to []State, stays, ok bool) {
	for _, tr := range rules {
		if (tr.On == "" || tr.On == on) && slices.Contains(tr.From, t.State) {
			ok = true
		}
	}
	if tr := match(rules, on, t, in); tr != nil {
		return tr.Name, tr.To, tr.Stays, true
	}
	return "", nil, false, ok
}

// result is what Decide made of one probe.
type result struct {
	rule     string // the table's entry that took it ("" for none)
	declared bool
	err      error
	t        Ticket
	effects  []Effect
}

// String is the outcome as the page prints it.
func (r result) String() string {
	if r.err != nil {
		code := ErrorCode(r.err)
		if !r.declared {
			return "refused (" + code + ")"
		}
		var e *Error
		msg := r.err.Error()
		if errors.As(r.err, &e) {
			msg = e.Message
		}
		return "refused (" + code + "): " + msg
	}
	s := "→ `" + string(r.t.State) + "`"
	if r.t.Outcome != "" && r.t.State.Terminal() {
		s += " (" + string(r.t.Outcome) + ")"
	}
	var kinds []string
	for _, e := range r.effects {
		kinds = append(kinds, string(e.Kind))
	}
	if len(kinds) > 0 {
		s += "; " + strings.Join(kinds, ", ")
	}
	return s
}

// enumerated is one scene's outcomes under both money rules versions.
type enumerated struct {
	scene  scene
	ticket Ticket // under RulesMoneyAnchored
	probes []string
	now    []result // RulesMoneyAnchored
	before []result // rules 0
}

// enumerate runs every probe on every scene and checks what the table promises:
// an undeclared pair is refused, an accepted one leads where its entry says.
func enumerate(t *testing.T) []enumerated {
	t.Helper()
	var out []enumerated
	for _, sc := range scenes {
		e := enumerated{scene: sc}
		for _, rules := range []int{RulesMoneyAnchored, 0} {
			s := sc.build(t, rules)
			var rs []result
			var labels []string
			for _, pr := range probes(s.tk, s.now) {
				r := result{}
				var to []State
				var stays bool
				r.rule, to, stays, r.declared = declared(s.tk, pr.in)
				r.t, r.effects, r.err = Decide(s.tk, s.p, pr.in, pr.at)
				where := fmt.Sprintf("%s (%s, rules %d): %s", sc.state, sc.label, rules, pr.label)
				switch {
				case r.err == nil && !r.declared:
					t.Errorf("%s: accepted, but the table declares nothing for it (a silent path) → %s", where, r.t.State)
				case r.err == nil && !slices.Contains(to, r.t.State) && !(stays && r.t.State == s.tk.State):
					t.Errorf("%s: %s led to %s; the table says %v (stays %v)", where, r.rule, r.t.State, to, stays)
				}
				rs = append(rs, r)
				labels = append(labels, pr.label)
			}
			if rules == RulesMoneyAnchored {
				e.ticket, e.now, e.probes = s.tk, rs, labels
			} else {
				if !slices.Equal(labels, e.probes) {
					t.Fatalf("%s: the probes differ between the money rules versions: %v vs %v", sc.label, labels, e.probes)
				}
				e.before = rs
			}
		}
		out = append(out, e)
	}
	return out
}

// TestStateTableEveryStateHasAScene: the enumeration covers every state.
func TestStateTableEveryStateHasAScene(t *testing.T) {
	for _, s := range States {
		if !slices.ContainsFunc(scenes, func(sc scene) bool { return sc.state == s }) {
			t.Errorf("no scene for state %s", s)
		}
	}
}

// TestStateTableDeadlines: every state with a deadline of its own has an entry
// for it in deadlineRules, and every entry's deadline is one the policy runs.
func TestStateTableDeadlines(t *testing.T) {
	p := DefaultPolicy()
	for _, row := range StateTable(p) {
		if row.Deadline == "" {
			continue
		}
		if !slices.ContainsFunc(row.Timeouts, func(tr Transition[string]) bool { return tr.On == row.Deadline }) {
			t.Errorf("%s runs %s, but deadlineRules has no entry for it", row.State, row.Deadline)
		}
	}
}

// TestStateTableDestinations drives generated sequences (the property tests'
// world) and checks that every accepted action, courier event, payment,
// deadline and verdict leads where the table's entry says
// (AFTERSALES_TABLE_SEQUENCES=N runs more than 3000).
func TestStateTableDestinations(t *testing.T) {
	n := propEnvInt("AFTERSALES_TABLE_SEQUENCES", 3000)
	if testing.Short() {
		n = 300
	}
	bad, checked := map[string]string{}, 0
	for seed := uint64(0); seed < uint64(n); seed++ {
		w := newPropWorld(propRand(seed), strconv.FormatUint(seed, 10))
		run := newPropRunner(w.c, w.start, map[string]bool{})
		w.run = run
		prev := run.t
		check := func(i int, in Input, before, after Ticket) {
			checked++
			name, to, stays, ok := declared(before, in)
			key := fmt.Sprintf("%s %s → %s", before.State, name, after.State)
			switch {
			case !ok || name == "":
				bad[fmt.Sprintf("%s: undeclared input accepted", key)] = fmt.Sprintf("seed %d step %d", seed, i)
			case !slices.Contains(to, after.State) && !(stays && after.State == before.State):
				bad[key] = fmt.Sprintf("seed %d step %d (rules %d)", seed, i, after.Rules)
			}
		}
		run.trace = func(i int, s propStep, tk Ticket, _ []Effect, err error) {
			defer func() { prev = tk }()
			if err == nil && s.In.Create == nil && s.In.Result == nil {
				check(i, s.In, prev, tk)
			}
			// The generator never reconciles a key; every key is tried here, aside.
			for _, r := range tk.Refunds {
				for _, status := range []MoneyStatus{RefundSucceeded, RefundVoid} {
					req := ActionRequest{Action: ActReconcile, Actor: "ops-1", Role: RolePlatform,
						Body: ActionBody{Key: r.Key, Status: status, Note: "seen in the console"}}
					in := Input{Action: &req}
					if after, _, err := Decide(tk, w.c.Policy, in, s.Now); err == nil {
						check(i, in, tk, after)
					}
				}
			}
		}
		run.apply(w.createInput(), false)
		for range propSteps {
			run.apply(w.next(), false)
		}
	}
	t.Logf("%d accepted inputs checked", checked)
	for k, v := range bad {
		t.Errorf("%s, not a destination the table declares (%s)", k, v)
	}
}
