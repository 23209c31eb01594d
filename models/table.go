package models

import "slices"

// The state table of DESIGN.md §2 as data: per state, the actions allowed
// (actionRules), the courier events handled (courierRules), the payment events
// (paymentRules), the deadline that runs (Policy.StateTimeout) and what its
// passing does (deadlineRules). Each entry names the function that applies it.
// CheckAction, Decide and the interpreter (NextWake) read these tables and no
// other; StateTable derives the per-state rows from them, and
// docs/state-table.md is generated from those rows (TestStateTableDoc). An
// input that no entry declares is refused.

// Transition is one declared input of the state table, after the transitions of
// Temporal's hsm package: the input it handles (On), the states it applies in
// (From), an optional Guard on the ticket and the input, the states it may lead
// to (To) and the function that applies it. In a list of transitions the first
// whose On, From and Guard match applies.
type Transition[E any] struct {
	Name  string  // what it does, in the words of the timeline
	On    string  // the courier event type or deadline name it handles; "" for any
	From  []State // the states it applies in
	Guard func(t Ticket, in E) bool
	When  string // the guard in words ("" without a guard)
	// To lists the states the ticket may be in after it (the apply function
	// chooses); Stays: it may also stay in the state it was in.
	To    []State
	Stays bool
	// AutoActed: the platform acts for a party that let the deadline pass
	// (Flags.AutoActed). Deadlines only.
	AutoActed bool
	// Elsewhere: another process keeps this deadline (the escalation), so the
	// ticket's own timer does not wait for it. Deadlines only.
	Elsewhere bool
	apply     func(d *decision, in E) error
}

// matches reports whether tr applies to input in on ticket t.
func (tr *Transition[E]) matches(on string, t Ticket, in E) bool {
	return (tr.On == "" || tr.On == on) && slices.Contains(tr.From, t.State) && (tr.Guard == nil || tr.Guard(t, in))
}

// match returns the first transition of rules that applies, or nil.
func match[E any](rules []Transition[E], on string, t Ticket, in E) *Transition[E] {
	for i := range rules {
		if rules[i].matches(on, t, in) {
			return &rules[i]
		}
	}
	return nil
}

// actionRule says who may take an action, in which states, where it may lead
// (to; stays: it may also stay in the state it was in) and which function
// applies it (once CheckAction accepted it).
type actionRule struct {
	roles  []Role
	states []State // nil: any state that is not terminal
	to     []State
	stays  bool
	apply  func(d *decision, req ActionRequest) error
}

// allows reports whether the rule lets its action be taken in state s.
func (r actionRule) allows(s State) bool {
	if r.states == nil {
		return !s.Terminal()
	}
	return oneOf(s, r.states)
}

var (
	sellerSide = []Role{RoleSeller, RolePlatform, RoleAdmin}
	buyerSide  = []Role{RoleBuyer, RolePlatform, RoleAdmin}
	platform   = []Role{RolePlatform, RoleAdmin}
	parties    = []Role{RoleBuyer, RoleSeller, RolePlatform, RoleAdmin}

	terminal = []State{StateCompleted, StateClosed}
	// The states a decision may lead to when it pays (refund, settle, end): the
	// money runs, the ticket ends, or the platform is called in.
	afterPaying = []State{StateRefunding, StateCompleted, StateEscalated}
	// ...and when it approves the request (approved): a visit, a shipment, the
	// replacement of goods that are back already, or the refund.
	afterApproval = append([]State{StateAwaitingPickup, StateAwaitingBuyerShipment, StateReplacementShipping}, afterPaying...)
	// ...and when the goods arrive (goodsArrived).
	afterArrival = []State{StateRepairing, StateAwaitingInspection, StateCompleted, StateRefunding}
	// ...and when a verdict resumes the ticket.
	afterVerdict = append([]State{StateClosed}, afterApproval...)
	// ...and when money answers (moneyStatus): a payment, a reconcile.
	afterMoney = []State{StateRefunding, StateCompleted, StateClosed, StateEscalated}
)

var actionRules = map[string]actionRule{
	ActApprove:            {sellerSide, []State{StatePendingReview}, afterApproval, false, (*decision).approve},
	ActReject:             {sellerSide, []State{StatePendingReview}, []State{StateRejected}, false, (*decision).reject},
	ActOffer:              {sellerSide, []State{StatePendingReview, StateNegotiating, StateRejected}, []State{StateNegotiating}, false, (*decision).offer},
	ActAcceptOffer:        {buyerSide, []State{StateNegotiating}, afterApproval, false, (*decision).acceptOffer},
	ActDeclineOffer:       {buyerSide, []State{StateNegotiating}, []State{StatePendingReview}, false, (*decision).declineOffer},
	ActShip:               {buyerSide, []State{StateAwaitingBuyerShipment}, []State{StateInTransit}, false, (*decision).ship},
	ActConfirmReceipt:     {sellerSide, []State{StateInTransit, StateRecovering}, afterArrival, false, (*decision).confirmReceipt},
	ActInspect:            {sellerSide, []State{StateAwaitingInspection}, append([]State{StateRejected, StateReplacementShipping}, afterPaying...), false, (*decision).inspect},
	ActReply:              {sellerSide, nil, nil, true, (*decision).reply},
	ActReportDelay:        {sellerSide, []State{StatePendingReview, StateAwaitingInspection, StateRefunding, StateRepairing}, nil, true, (*decision).reportDelay},
	ActEscalate:           {parties, []State{StateRejected, StateNegotiating, StateRepairing, StateRefunding}, []State{StateEscalated}, false, (*decision).escalateByParty},
	ActEvidence:           {parties, []State{StateEscalated}, nil, true, (*decision).evidence},
	ActArbitrate:          {platform, []State{StateEscalated}, afterVerdict, false, (*decision).arbitrate},
	ActCancel:             {buyerSide, nil, []State{StateClosed}, false, (*decision).cancel},
	ActRevise:             {buyerSide, []State{StateRejected}, []State{StatePendingReview}, false, (*decision).revise},
	ActConfirmReplacement: {buyerSide, []State{StateReplacementShipping}, []State{StateCompleted, StateRefunding}, false, (*decision).confirmReplacement},
	ActEvaluate:           {[]Role{RoleBuyer}, terminal, nil, true, (*decision).evaluate},
	ActReconcile:          {platform, States, afterMoney, true, (*decision).reconcileKey},
}

// courierRules: what each courier event does, by state. An event that none
// applies to (a late or repeated report) is refused with ECONFLICT.
var courierRules = []Transition[CourierEvent]{
	{Name: "picked_up", On: CourierPickedUp, From: []State{StateAwaitingPickup}, Guard: byPickup, When: "return by pickup",
		To: []State{StateInTransit}, apply: (*decision).onPickedUp},
	{Name: "delivered_before_picked_up", On: CourierDelivered, From: []State{StateAwaitingPickup}, Guard: byPickup, When: "return by pickup",
		To: afterArrival, apply: (*decision).onDeliveredUnpicked},
	{Name: "rebook_pickup", On: CourierPickupFailed, From: []State{StateAwaitingPickup}, Guard: byPickup, When: "return by pickup",
		To: []State{StateAwaitingPickup, StateAwaitingBuyerShipment}, apply: (*decision).onPickupFailed},
	{Name: "swapped", On: CourierSwapCompleted, From: []State{StateAwaitingPickup}, Guard: bySwap, When: "swap on delivery",
		To: []State{StateCompleted, StateRefunding}, apply: (*decision).onSwapCompleted},
	{Name: "rebook_swap_visit", On: CourierSwapFailed, From: []State{StateAwaitingPickup}, Guard: bySwap, When: "swap on delivery",
		To: []State{StateAwaitingPickup, StateAwaitingBuyerShipment}, apply: (*decision).onSwapFailed},
	{Name: "goods_arrived", On: CourierDelivered, From: []State{StateInTransit},
		To: afterArrival, apply: (*decision).onDelivered},
	{Name: "delivered_during_escalation", On: CourierDelivered, From: []State{StateEscalated}, Guard: returnParcelDuringEscalation,
		When: "money rules anchored, a return not yet delivered, the ticket's tracking number or none", Stays: true, apply: (*decision).onDeliveredEscalated},
	{Name: "delivered_before_tracking", On: CourierDelivered, From: []State{StateAwaitingBuyerShipment}, Guard: returnNotYetRecorded,
		When: "money rules anchored, a return not yet delivered (the buyer shipped without giving tracking)",
		To:   afterArrival, apply: (*decision).onDelivered},
	{Name: "delivery_recorded", On: CourierDelivered, From: []State{StatePendingReview, StateNegotiating, StateRejected},
		Guard: returnNotYetRecorded, When: "money rules anchored, a return not yet delivered: recorded, never asked for again",
		Stays: true, apply: (*decision).onDeliveryRecorded},
	{Name: "goods_after_recovery", On: CourierDelivered, From: []State{StateRecovering},
		To: []State{StateCompleted, StateRefunding}, apply: (*decision).onDeliveredRecovering},
	{Name: "goods_after_write_off", On: CourierDelivered, From: States, Guard: writtenOff,
		When: "written off or recovered, goods not returned", Stays: true, apply: (*decision).onDeliveredWrittenOff},
	{Name: "replacement_delivered", On: CourierReplacementDelivered, From: []State{StateReplacementShipping},
		To: []State{StateReplacementShipping}, apply: (*decision).onReplacementDelivered},
	{Name: "repaired_delivered", On: CourierReplacementDelivered, From: []State{StateRepairing},
		To: []State{StateCompleted, StateRefunding}, apply: (*decision).onRepairedDelivered},
}

func byPickup(t Ticket, _ CourierEvent) bool { return t.ReturnMethod == ReturnPickup }
func bySwap(t Ticket, _ CourierEvent) bool   { return t.ReturnMethod == ReturnSwapOnDelivery }

func returnParcelDuringEscalation(t Ticket, ev CourierEvent) bool {
	return t.Rules >= RulesMoneyAnchored && !t.Logistics.Returned && t.Kind.NeedsReturn() &&
		(t.Logistics.TrackingNo == "" || ev.TrackingNo == "" || ev.TrackingNo == t.Logistics.TrackingNo)
}

// returnNotYetRecorded: under the money rules, goods that travel back and whose
// arrival the ticket has not recorded yet (a delivery is recorded in any state).
func returnNotYetRecorded(t Ticket, _ CourierEvent) bool {
	return t.Rules >= RulesMoneyAnchored && t.Kind.NeedsReturn() && !t.Logistics.Returned
}

func writtenOff(t Ticket, _ CourierEvent) bool {
	return (t.Flags.WrittenOff || t.Outcome == OutcomeRecovered) && !t.Logistics.Returned
}

// deadlineRules: the "on timeout" column, by state and deadline name. A deadline
// applies only while it runs and is due (the ticket's Deadline), except
// ReconcileBy, the interpreter's check on an ended ticket's money.
var deadlineRules = []Transition[string]{
	{Name: "auto_approve", On: "review_by", From: []State{StatePendingReview}, AutoActed: true,
		To: afterApproval, apply: (*decision).onReviewBy},
	{Name: "expire", On: "offer_response_by", From: []State{StateNegotiating}, AutoActed: true,
		To: []State{StateClosed, StateRefunding}, apply: (*decision).onExpire},
	{Name: "expire", On: "appeal_by", From: []State{StateRejected}, AutoActed: true,
		To: []State{StateClosed, StateRefunding}, apply: (*decision).onExpire},
	{Name: "rebook_visit", On: "pickup_by", From: []State{StateAwaitingPickup}, AutoActed: true,
		To: []State{StateAwaitingPickup, StateAwaitingBuyerShipment}, apply: (*decision).onPickupBy},
	{Name: "expire", On: "ship_by", From: []State{StateAwaitingBuyerShipment}, AutoActed: true,
		To: []State{StateClosed, StateRefunding}, apply: (*decision).onExpire},
	{Name: "start_recovery", On: "arrive_by", From: []State{StateInTransit}, AutoActed: true,
		To: []State{StateRecovering, StateEscalated}, apply: (*decision).onArriveBy},
	{Name: "auto_pass", On: "inspect_by", From: []State{StateAwaitingInspection}, AutoActed: true,
		To: append([]State{StateReplacementShipping}, afterPaying...), apply: (*decision).onInspectBy},
	{Name: "force_refund", On: "refund_by", From: []State{StateRefunding}, AutoActed: true,
		To: append([]State{StateClosed}, afterPaying...), apply: (*decision).onRefundBy},
	{Name: "auto_confirm", On: "confirm_by", From: []State{StateReplacementShipping}, AutoActed: true,
		To: []State{StateCompleted, StateRefunding}, apply: (*decision).onConfirmBy},
	{Name: "escalate", On: "repair_by", From: []State{StateRepairing}, AutoActed: true,
		To: []State{StateEscalated}, apply: (*decision).onRepairBy},
	{Name: "evidence_closed", On: "evidence_by", From: []State{StateEscalated},
		To: []State{StateEscalated}, apply: (*decision).onEvidenceBy},
	{Name: "automatic_verdict", On: "decide_by", From: []State{StateEscalated}, Guard: orphaned,
		When: "the escalation's process failed", To: afterVerdict, apply: (*decision).onDecideBy},
	{Name: "escalation_decides", On: "decide_by", From: []State{StateEscalated}, Elsewhere: true,
		apply: (*decision).onDecideByElsewhere},
	{Name: "write_off", On: "recover_by", From: []State{StateRecovering}, AutoActed: true,
		To: []State{StateEscalated}, apply: (*decision).onRecoverBy},
	{Name: "reconcile", On: ReconcileBy, From: terminal, Guard: moneyBusy, When: "money in flight",
		Stays: true, apply: (*decision).onReconcileBy},
}

func orphaned(t Ticket, _ string) bool  { return t.Escalation != nil && t.Escalation.Orphaned }
func moneyBusy(t Ticket, _ string) bool { return t.Refunds.Busy() }

// paymentRules: a provider's webhook for a key the ticket holds applies in every
// state; what follows depends on the key's purpose and the state (decide_money.go).
var paymentRules = []Transition[PaymentEvent]{
	{Name: "money_status", From: States, To: afterMoney, Stays: true, apply: (*decision).payment},
}

// verdictRules: the escalation's own verdict (decided at decide_by for the party
// that answered) resumes an escalated ticket.
var verdictRules = []Transition[Verdict]{
	{Name: "verdict", From: []State{StateEscalated}, To: afterVerdict, apply: (*decision).escalationVerdict},
}

// StateRow is one row of the state table: what a ticket in State takes.
type StateRow struct {
	State    State
	Actions  []string                   // the actions allowed, in the order of Actions
	Courier  []Transition[CourierEvent] // in the order they are tried
	Payment  []Transition[PaymentEvent]
	Deadline string // the deadline that runs on entering State ("" for none)
	Timeouts []Transition[string]
	Verdict  []Transition[Verdict]
}

// StateTable returns the rows of the state table under policy p, one per state in
// the order of States.
func StateTable(p Policy) []StateRow {
	rows := make([]StateRow, 0, len(States))
	for _, s := range States {
		r := StateRow{State: s}
		for _, a := range Actions {
			if actionRules[a].allows(s) {
				r.Actions = append(r.Actions, a)
			}
		}
		r.Courier = from(courierRules, s)
		r.Payment = from(paymentRules, s)
		r.Deadline, _, _ = p.StateTimeout(s)
		r.Timeouts = from(deadlineRules, s)
		r.Verdict = from(verdictRules, s)
		rows = append(rows, r)
	}
	return rows
}

// from returns the transitions of rules that apply in state s.
func from[E any](rules []Transition[E], s State) []Transition[E] {
	var out []Transition[E]
	for _, tr := range rules {
		if slices.Contains(tr.From, s) {
			out = append(out, tr)
		}
	}
	return out
}
