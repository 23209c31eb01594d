package models

import (
	"fmt"
	"slices"
	"time"
)

// Input is one thing that happens to a ticket; exactly one field is set.
type Input struct {
	Create   *CreateInput   `json:"create,omitempty"`   // the ticket comes into being
	Action   *ActionRequest `json:"action,omitempty"`   // an agent's or a party's action
	Courier  *CourierEvent  `json:"courier,omitempty"`  // a verified courier webhook
	Payment  *PaymentEvent  `json:"payment,omitempty"`  // a verified payment webhook
	Deadline string         `json:"deadline,omitempty"` // the name of the running deadline that passed
	Result   *EffectResult  `json:"result,omitempty"`   // what an effect came to
	Verdict  *Verdict       `json:"verdict,omitempty"`  // the escalation's automatic verdict
}

// CreateInput is the application as the API accepted it.
type CreateInput struct {
	Create       CreateTicket `json:"create"`
	Actor        string       `json:"actor"`
	Role         Role         `json:"role"`
	RequestID    string       `json:"request_id"`
	BuyerFlagged bool         `json:"buyer_flagged"`
	// RMA is the number the shop's counter gave the ticket (RMANumber).
	RMA string `json:"rma,omitempty"`
}

// Verdict is the platform's decision on an escalated ticket (平台介入).
type Verdict struct {
	Verdict     string `json:"verdict"` // VerdictSupportBuyer or VerdictSupportSeller
	RefundCents int64  `json:"refund_cents"`
	Note        string `json:"note,omitempty"`
	Actor       string `json:"actor,omitempty"`
	Automatic   bool   `json:"automatic,omitempty"` // decided at decide_by for the party that answered
}

// EffectKind names what a ticket asks the world to do.
type EffectKind string

// The effects a decision can ask for; the workflow runs each as an activity (or a
// child workflow, or a signal to it) and feeds its result back as an Input.
const (
	EffectBookPickup      EffectKind = "book_pickup"
	EffectBookSwap        EffectKind = "book_swap"
	EffectCancelPickup    EffectKind = "cancel_pickup"
	EffectVerifyTracking  EffectKind = "verify_tracking"
	EffectShipReplacement EffectKind = "ship_replacement"
	EffectSendToRepair    EffectKind = "send_to_repair"
	EffectMoveMoney       EffectKind = "move_money"
	EffectLookupMoney     EffectKind = "lookup_money"
	EffectRecordMoney     EffectKind = "record_money" // the platform reconciled a key: the ledger records it
	EffectStartEscalation EffectKind = "start_escalation"
	EffectSendEvidence    EffectKind = "send_evidence" // to the running escalation
	EffectEndEscalation   EffectKind = "end_escalation"
	EffectNotify          EffectKind = "notify"
)

// Effect is one thing the ticket asks the world to do. Kind says which fields
// are set.
type Effect struct {
	Kind EffectKind `json:"kind"`
	// Money: the movement's key, purpose and amount (move_money, lookup_money).
	Key         string  `json:"key,omitempty"`
	Purpose     Purpose `json:"purpose,omitempty"`
	AmountCents int64   `json:"amount_cents,omitempty"`
	// Status is the key's status the platform reconciled (record_money).
	Status MoneyStatus `json:"status,omitempty"`
	// Logistics: the visit's attempt, the booking to cancel, the parcel to verify.
	Attempt    int    `json:"attempt,omitempty"`
	BookingID  string `json:"booking_id,omitempty"`
	Carrier    string `json:"carrier,omitempty"`
	TrackingNo string `json:"tracking_no,omitempty"`
	// Escalation: the record to start with (start_escalation), the evidence to pass on.
	Escalation *Escalation `json:"escalation,omitempty"`
	Evidence   *Note       `json:"evidence,omitempty"`
	// Notify: who is told what.
	To      Role   `json:"to,omitempty"`
	Message string `json:"message,omitempty"`
}

// EffectResult is what an effect came to, fed back into Decide.
type EffectResult struct {
	Effect Effect `json:"effect"`
	// Failed: the effect gave up after its retries; Code is the error's code
	// (ECONFLICT: the ledger refused the amount for the order's cap) and Reason
	// says why in words.
	Failed bool   `json:"failed,omitempty"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Logistics answers.
	BookingID  string `json:"booking_id,omitempty"`
	TrackingNo string `json:"tracking_no,omitempty"`
	Verified   bool   `json:"verified,omitempty"`
	// Money answers: the provider's status of the key (sent, succeeded, failed;
	// for a lookup "" when it never saw the key) and its reference.
	Status      MoneyStatus `json:"status,omitempty"`
	ProviderRef string      `json:"provider_ref,omitempty"`
	// OrderOverCents is the ledger's word that this key's payment took its order
	// over what was paid, by that much (a key given up on that paid after all).
	OrderOverCents int64 `json:"order_over_cents,omitempty"`
}

// Decide applies one input to a ticket under its policy at now and returns the
// ticket after it and the effects to run. It is pure: no clock, no I/O, the same
// answer for the same arguments, so the workflow can replay it. An input that the
// ticket refuses (an action not allowed now, bad parameters, an event that does
// not apply in its state) returns t unchanged, no effects and an *Error whose
// code says why (EFORBIDDEN, ECONFLICT, EINVALID, ENOTFOUND).
func Decide(t Ticket, p Policy, in Input, now time.Time) (Ticket, []Effect, error) {
	d := &decision{t: clone(t), p: p, now: now}
	var err error
	switch {
	case in.Create != nil:
		err = d.create(*in.Create)
	case in.Action != nil:
		if err = CheckAction(t, *in.Action, p, now); err == nil {
			err = d.act(*in.Action)
		}
	case in.Courier != nil:
		err = d.courier(*in.Courier)
	case in.Payment != nil:
		err = d.paymentEvent(*in.Payment)
	case in.Deadline != "":
		err = d.deadline(in.Deadline)
	case in.Result != nil:
		err = d.result(*in.Result)
	case in.Verdict != nil:
		err = d.verdictEvent(*in.Verdict)
	default:
		err = Errorf(EINVALID, "an input needs one of create, action, courier, payment, deadline, result, verdict")
	}
	if err != nil {
		return t, nil, err
	}
	return d.t, d.effects, nil
}

// paymentEvent applies a provider's webhook by paymentRules (every state).
func (d *decision) paymentEvent(ev PaymentEvent) error {
	tr := match(paymentRules, string(ev.Status), d.t, ev)
	if tr == nil {
		return Errorf(ENOTFOUND, "ticket %s has no money movement %s", d.t.ID, ev.RefundKey)
	}
	return tr.apply(d, ev)
}

// verdictEvent applies the escalation's verdict by verdictRules (escalated only).
func (d *decision) verdictEvent(v Verdict) error {
	tr := match(verdictRules, v.Verdict, d.t, v)
	if tr == nil {
		return Errorf(ECONFLICT, "ticket %s is %s, not escalated", d.t.ID, d.t.State)
	}
	return tr.apply(d, v)
}

// system is the actor of what the ticket does by itself: timers, couriers, payments.
const system = "system"

// decision is one Decide call under way: the ticket being changed and the effects
// asked for so far.
type decision struct {
	t       Ticket
	p       Policy
	now     time.Time
	effects []Effect
}

// clone copies the parts of t that a decision changes in place, so the caller's
// ticket is never touched.
func clone(t Ticket) Ticket {
	t.Refunds = slices.Clone(t.Refunds)
	t.Timeline = slices.Clone(t.Timeline)
	t.DelayReports = slices.Clone(t.DelayReports)
	if t.Escalation != nil {
		e := *t.Escalation
		e.Evidence = slices.Clone(e.Evidence)
		t.Escalation = &e
	}
	return t
}

func (d *decision) do(e Effect) { d.effects = append(d.effects, e) }

// transition moves the ticket to state to, starts that state's deadline and records
// the change. Entering the state it is in restarts its deadline.
func (d *decision) transition(to State, actor string, role Role, action, note, rid string) {
	from := d.t.State
	d.t.State = to
	d.t.Deadline = nil
	if name, dur, ok := d.p.deadlineOf(d.t, to); ok {
		d.t.Deadline = &Deadline{Name: name, At: d.now.Add(dur)}
	}
	if to.Terminal() {
		now := d.now
		d.t.EndedAt = &now
		d.t.Deadline = nil
	}
	d.record(Event{Actor: actor, Role: role, Action: action, From: from, To: to, Note: note, RequestID: rid})
}

// note records an event that does not change the state.
func (d *decision) note(actor string, role Role, action, note, rid string) {
	d.record(Event{Actor: actor, Role: role, Action: action, From: d.t.State, To: d.t.State, Note: note, RequestID: rid})
}

func (d *decision) system(action, note string) { d.note(system, RoleSystem, action, note, "") }

func (d *decision) record(e Event) {
	d.t.Seq++
	e.Seq, e.At = d.t.Seq, d.now
	d.t.Timeline = append(d.t.Timeline, e)
	d.t.UpdatedAt = d.now
}

// create records the application and applies fast review.
func (d *decision) create(c CreateInput) error {
	if d.t.Seq != 0 {
		return Errorf(ECONFLICT, "ticket %s already exists", d.t.ID)
	}
	d.t.BuyerFlagged, d.t.RMA = c.BuyerFlagged, c.RMA
	d.t.State = ""
	d.transition(StatePendingReview, c.Actor, c.Role, "create", d.t.Reason, c.RequestID)
	if c.Create.OverrideNote != "" {
		// The platform opened what the return windows refuse: audited.
		d.note(c.Actor, c.Role, "override_eligibility", c.Create.OverrideNote, c.RequestID)
	}
	// A buyer the platform flagged is never approved without the seller.
	if ok, rule := FastReviewDecision(c.Create, d.p); ok && !c.BuyerFlagged {
		d.t.Flags.FastReviewed, d.t.FastReviewRule = true, rule
		d.system("fast_review", rule)
		d.approved(system, RoleSystem, "")
	}
	return nil
}

// approved starts what the kind and return method call for once the request is
// approved: by the seller, by fast review, at review_by, or by the platform.
func (d *decision) approved(who string, role Role, rid string) {
	if d.anchored() && d.t.Logistics.Returned && d.t.Kind.NeedsReturn() {
		// The goods came back already (a failed inspection, a declined offer, a
		// verdict): never asked for again; the approval is the inspection passed.
		d.inspectionPassed(who, role, "approve_returned", "the goods are with the seller already", rid, false)
		return
	}
	switch {
	case d.t.Kind == KindRefundOnly:
		d.refund(d.t.RequestedCents, OutcomeRefunded, who, role, rid)
	case d.t.Kind == KindPriceProtection:
		d.refund(d.t.RequestedCents, OutcomePriceProtected, who, role, rid)
	case d.t.ReturnMethod == ReturnPickup || d.t.ReturnMethod == ReturnSwapOnDelivery:
		d.transition(StateAwaitingPickup, who, role, "book_"+d.visit(), "", rid)
		d.bookVisit()
	default:
		d.transition(StateAwaitingBuyerShipment, who, role, "await_shipment", "", rid)
	}
}

func (d *decision) visit() string {
	if d.t.ReturnMethod == ReturnSwapOnDelivery {
		return "swap_visit"
	}
	return "pickup"
}

// bookVisit books the next courier visit (pickup or swap) for the next attempt.
func (d *decision) bookVisit() {
	d.t.Logistics.PickupAttempts++
	d.t.Logistics.PickupBooking = ""
	kind := EffectBookPickup
	if d.t.ReturnMethod == ReturnSwapOnDelivery {
		kind = EffectBookSwap
	}
	d.do(Effect{Kind: kind, Attempt: d.t.Logistics.PickupAttempts})
}

// visitFailed books the visit again until pickup_attempts is used up, then falls
// back to the buyer shipping the goods.
func (d *decision) visitFailed(why string) {
	if d.t.Logistics.PickupAttempts < d.p.PickupAttempts {
		if d.anchored() && d.t.Logistics.PickupBooking != "" {
			// The visit booked before is no longer wanted: the courier is told.
			d.do(Effect{Kind: EffectCancelPickup, BookingID: d.t.Logistics.PickupBooking})
		}
		d.transition(StateAwaitingPickup, system, RoleSystem, "rebook_"+d.visit(), why, "")
		d.bookVisit()
		return
	}
	d.cancelVisit()
	d.t.ReturnMethod = ReturnSelfShip
	d.transition(StateAwaitingBuyerShipment, system, RoleSystem, "fallback_self_ship",
		fmt.Sprintf("%s; %d attempts used", why, d.t.Logistics.PickupAttempts), "")
}

// unwantedVisit: the visit of attempt is no longer wanted: another attempt was
// booked since, the return fell back to self-shipping, or the ticket closed. A
// visit the ticket moved on from because it happened (the courier picked the
// goods up before its booking's answer came) is still the one in use.
func (d *decision) unwantedVisit(attempt int) bool {
	byVisit := d.t.ReturnMethod == ReturnPickup || d.t.ReturnMethod == ReturnSwapOnDelivery
	return attempt != d.t.Logistics.PickupAttempts || !byVisit || d.t.State == StateClosed
}

// cancelVisit cancels the booked courier visit, if there is one.
func (d *decision) cancelVisit() {
	if d.t.State == StateAwaitingPickup && d.t.Logistics.PickupBooking != "" {
		d.do(Effect{Kind: EffectCancelPickup, BookingID: d.t.Logistics.PickupBooking})
	}
}

// goodsArrived: the return reached the seller (courier delivered or seller confirmed).
func (d *decision) goodsArrived(who string, role Role, action, rid string) {
	d.t.Logistics.Returned = true
	switch {
	case d.t.Kind == KindRepair:
		d.transition(StateRepairing, who, role, action, "", rid)
		d.do(Effect{Kind: EffectSendToRepair})
	case d.t.Flags.LightningRefund:
		// Refunded at pickup: the arrival settles the ticket without inspection.
		d.note(who, role, action, "lightning refund: no inspection", rid)
		d.end(OutcomeRefunded, who, role, "refund_paid")
	default:
		d.transition(StateAwaitingInspection, who, role, action, "", rid)
	}
}

// inspectionPassed refunds in full, or ships the replacement of an exchange.
// byLine: the inspection's count decides the amount (the seller's inspect, or
// the platform overruling a failed one): an inspection given line by line
// refunds the units that arrived, so a short shipment only those. Otherwise
// (a deadline's auto-pass, an approval of goods already back) the request is
// granted as it stands.
func (d *decision) inspectionPassed(who string, role Role, action, note, rid string, byLine bool) {
	var lines []LineInspection
	if d.t.Inspection != nil && byLine {
		lines = d.t.Inspection.Lines // an approval of the request as it stands supersedes the count
	}
	d.t.Inspection = &Inspection{Result: InspectPass, Note: note, Lines: lines}
	if d.t.Kind == KindExchange {
		d.transition(StateReplacementShipping, who, role, action, "replacement "+d.t.ExchangeSKU, rid)
		d.do(Effect{Kind: EffectShipReplacement})
		return
	}
	amount, outcome := d.t.RequestedCents, OutcomeRefunded
	if byLine && len(lines) > 0 {
		if amount = InspectedRefund(d.t, lines, 0); amount < d.t.RequestedCents {
			outcome = OutcomePartiallyRefunded
		}
		note += shortNote(d.t.Items, lines)
	}
	d.note(who, role, action, note, rid)
	d.refund(amount, outcome, who, role, rid)
}

func (d *decision) replacementOutcome() Outcome {
	if d.t.Kind == KindRepair {
		return OutcomeRepaired
	}
	return OutcomeExchanged
}

// escalate hands the ticket to the platform: the escalation (a child workflow)
// collects evidence until evidence_by and waits for the arbiter until decide_by;
// it owns both deadlines, and the ticket shows the one that runs.
func (d *decision) escalate(who string, role Role, reason, rid string) {
	from := d.t.State
	d.t.Flags.Escalated = true
	d.t.Escalations++
	d.transition(StateEscalated, who, role, ActEscalate, reason, rid)
	e := &Escalation{By: role, Reason: reason, From: from, EvidenceBy: d.now.Add(d.p.EvidenceTimeout.D()), Evidence: []Note{}}
	e.DecideBy = e.EvidenceBy.Add(d.p.ArbiterTimeout.D())
	e.ClaimCents = d.buyerClaim()
	d.t.Escalation = e
	d.t.Deadline = &Deadline{Name: "evidence_by", At: e.EvidenceBy}
	d.do(Effect{Kind: EffectStartEscalation, Escalation: e})
}

// Terminal end states by outcome: completed for outcomes that served the request,
// closed for the others.
func (o Outcome) endState() State {
	switch o {
	case OutcomeWithdrawn, OutcomeExpired, OutcomeRejected, OutcomePlatformDeclined, OutcomeRecovered:
		return StateClosed
	}
	return StateCompleted
}

// end finishes the ticket with outcome o, once no money it started is in flight:
// until then it waits in refunding (whose refund_by reconciles by lookup), and the
// answer that settles the money ends it. A completed return with freight insurance
// first claims the buyer's freight, which the end then waits for too.
func (d *decision) end(o Outcome, who string, role Role, action string) {
	if d.moveExchangeDifference(o, who, role) {
		return // refunded first; the refund ends the ticket with o
	}
	if o.endState() == StateCompleted && d.freightDue() {
		d.sendMoney(PurposeFreight, d.p.FreightClaimCents)
	}
	if d.t.Refunds.Busy() {
		d.t.PendingOutcome = o
		if d.t.State != StateRefunding {
			d.transition(StateRefunding, who, role, "settle", "waiting for the money in flight", "")
		}
		return
	}
	d.t.PendingOutcome = ""
	d.t.Outcome = o
	d.transition(o.endState(), who, role, action, string(o), "")
}

// freightDue: freight insurance pays the buyer's one-way return freight, only when
// goods really came back at the buyer's expense, once per ticket.
func (d *decision) freightDue() bool {
	t := d.t
	return t.Order.FreightInsurance && t.Kind.NeedsReturn() && t.Logistics.Returned &&
		t.ReturnShippingPayer == "buyer" && t.ReturnMethod != ReturnSwapOnDelivery &&
		d.p.FreightClaimCents > 0 && !slices.ContainsFunc(t.Refunds, func(r Refund) bool { return r.Purpose == PurposeFreight })
}
