package models

import "fmt"

// The actions' apply functions: actionRules (table.go) names one per action,
// with who may take it and in which states. Each runs once CheckAction accepted
// the request; only a verdict can still be refused here (it counts the money in
// flight), before anything changes. The helpers they call are in decide.go.

// act applies an action that CheckAction accepted: the seller's first reply is
// timed, then the action's rule applies it.
func (d *decision) act(req ActionRequest) error {
	if req.Role == RoleSeller && d.t.FirstReplyAt == nil { // the seller's first reply is timed
		now := d.now
		d.t.FirstReplyAt = &now
		d.t.Flags.ReplyLate = now.Sub(d.t.CreatedAt) > d.p.ReplyTarget.D()
	}
	return actionRules[req.Action].apply(d, req)
}

func (d *decision) approve(req ActionRequest) error {
	if u := req.Body.ExchangeUnitCents; u != nil {
		d.t.Exchange = &ExchangePrice{UnitCents: *u, DifferenceCents: exchangeDifference(d.t.Items, *u)}
	}
	d.note(req.Actor, req.Role, req.Action, req.Body.Note, req.RequestID)
	d.approved(req.Actor, req.Role, req.RequestID)
	return nil
}

func (d *decision) reject(req ActionRequest) error {
	d.transition(StateRejected, req.Actor, req.Role, req.Action, req.Body.Reason, req.RequestID)
	return nil
}

func (d *decision) offer(req ActionRequest) error {
	b := req.Body
	d.t.Offer = &Offer{RefundCents: *b.RefundCents, KeepItem: b.KeepItem, Note: b.Note}
	d.transition(StateNegotiating, req.Actor, req.Role, req.Action, b.Note, req.RequestID)
	return nil
}

// acceptOffer settles the negotiation: a refund with the buyer keeping the item
// completes without a return; otherwise the return runs for the agreed amount.
func (d *decision) acceptOffer(req ActionRequest) error {
	who, role, rid := req.Actor, req.Role, req.RequestID
	o := *d.t.Offer
	d.note(who, role, ActAcceptOffer, o.Note, rid)
	if !o.KeepItem {
		d.t.RequestedCents = o.RefundCents
		d.approved(who, role, rid)
		return nil
	}
	outcome := OutcomePartiallyRefunded
	if d.t.Kind == KindExchange || d.t.Kind == KindRepair {
		outcome = OutcomeCompensated
	} else if o.RefundCents >= d.t.RequestedCents {
		outcome = OutcomeRefunded
	}
	d.refund(o.RefundCents, outcome, who, role, rid)
	return nil
}

func (d *decision) declineOffer(req ActionRequest) error {
	d.transition(StatePendingReview, req.Actor, req.Role, req.Action, req.Body.Note, req.RequestID)
	return nil
}

func (d *decision) ship(req ActionRequest) error {
	b := req.Body
	d.t.Logistics.Carrier, d.t.Logistics.TrackingNo = b.Carrier, b.TrackingNo
	d.transition(StateInTransit, req.Actor, req.Role, req.Action, b.Carrier+" "+b.TrackingNo, req.RequestID)
	d.do(Effect{Kind: EffectVerifyTracking, Carrier: b.Carrier, TrackingNo: b.TrackingNo})
	return nil
}

func (d *decision) confirmReceipt(req ActionRequest) error {
	d.goodsArrived(req.Actor, req.Role, req.Action, req.RequestID)
	return nil
}

// inspect applies the seller's verdict on the returned goods.
func (d *decision) inspect(req ActionRequest) error {
	b := req.Body
	d.t.Inspection = &Inspection{Result: b.Result, DeductPercent: b.DeductPercent, Note: b.Note, Lines: b.Lines}
	switch b.Result {
	case InspectFail:
		d.transition(StateRejected, req.Actor, req.Role, req.Action, "inspection failed: "+b.Note, req.RequestID)
	case InspectDeduct:
		amount, _ := RefundAfterInspection(d.t, d.p, b.DeductPercent) // checked by CheckAction
		note := fmt.Sprintf("deduct %d%%: %s", b.DeductPercent, b.Note)
		if len(b.Lines) > 0 {
			// Of the damaged units only; a short shipment refunds what arrived.
			amount = InspectedRefund(d.t, b.Lines, b.DeductPercent)
			note = fmt.Sprintf("deduct %d%% of the damaged units%s: %s", b.DeductPercent, shortNote(d.t.Items, b.Lines), b.Note)
		}
		d.note(req.Actor, req.Role, req.Action, note, req.RequestID)
		d.refund(amount, OutcomePartiallyRefunded, req.Actor, req.Role, req.RequestID)
	default:
		d.inspectionPassed(req.Actor, req.Role, req.Action, b.Note, req.RequestID, true)
	}
	return nil
}

func (d *decision) reply(req ActionRequest) error {
	d.t.Replies++
	d.note(req.Actor, req.Role, req.Action, req.Body.Message, req.RequestID)
	return nil
}

// reportDelay moves the running deadline by the extension (once per state).
func (d *decision) reportDelay(req ActionRequest) error {
	b := req.Body
	extend, _ := ParseDuration(b.Extend) // checked by CheckAction
	d.t.DelayReports = append(d.t.DelayReports, d.t.State)
	d.t.Flags.ExcludedFromAssessment = true
	d.t.Deadline = &Deadline{Name: d.t.Deadline.Name, At: d.t.Deadline.At.Add(extend.D())}
	d.note(req.Actor, req.Role, req.Action, b.Reason+" (+"+extend.String()+")", req.RequestID)
	return nil
}

func (d *decision) escalateByParty(req ActionRequest) error {
	d.escalate(req.Actor, req.Role, req.Body.Reason, req.RequestID)
	return nil
}

// evidence records a party's evidence and passes it to the running escalation.
func (d *decision) evidence(req ActionRequest) error {
	b := req.Body
	n := Note{Role: req.Role, At: d.now, Note: b.Note, URLs: b.URLs}
	d.t.Escalation.Evidence = append(d.t.Escalation.Evidence, n)
	d.note(req.Actor, req.Role, req.Action, b.Note, req.RequestID)
	d.do(Effect{Kind: EffectSendEvidence, Evidence: &n})
	return nil
}

// arbitrate applies the platform arbiter's verdict.
func (d *decision) arbitrate(req ActionRequest) error {
	b := req.Body
	v := Verdict{Verdict: b.Verdict, Note: b.Note, Actor: req.Actor}
	if b.RefundCents != nil {
		v.RefundCents = *b.RefundCents
	}
	return d.verdict(v, req.Actor, req.Role)
}

// cancel: the buyer withdraws; a booked visit is cancelled, and under the money
// rules a running escalation ends (nothing left for the platform to decide).
func (d *decision) cancel(req ActionRequest) error {
	if d.anchored() && d.t.State == StateEscalated {
		d.do(Effect{Kind: EffectEndEscalation})
	}
	d.cancelVisit()
	d.t.Outcome = OutcomeWithdrawn
	d.transition(StateClosed, req.Actor, req.Role, req.Action, req.Body.Reason, req.RequestID)
	return nil
}

// revise: the buyer changes the request after a rejection; the seller reviews it again.
func (d *decision) revise(req ActionRequest) error {
	b := req.Body
	if b.RequestedCents != nil {
		d.t.RequestedCents = *b.RequestedCents
	}
	if b.Reason != "" {
		d.t.Reason = b.Reason
	}
	d.t.Offer = nil
	d.transition(StatePendingReview, req.Actor, req.Role, req.Action, b.Reason, req.RequestID)
	return nil
}

func (d *decision) confirmReplacement(req ActionRequest) error {
	d.end(d.replacementOutcome(), req.Actor, req.Role, req.Action)
	return nil
}

func (d *decision) evaluate(req ActionRequest) error {
	b := req.Body
	d.t.Evaluation = &Evaluation{Score: b.Score, Comment: b.Comment, At: d.now}
	d.note(req.Actor, req.Role, req.Action, b.Comment, req.RequestID)
	return nil
}
