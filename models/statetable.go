package models

import "fmt"

// This file is DESIGN.md §2's state table as code: what each action does (who may
// take it, and in which states, is actionRules in actions.go), what each courier
// event does in each state, and the "on timeout" column. Money has its own file
// (decide_money.go); the helpers the rows call are in decide.go.

// act applies an action that CheckAction accepted. Only a verdict can still be
// refused here (it counts the money in flight); it is refused before anything
// changes.
func (d *decision) act(req ActionRequest) error {
	b, who, role, rid := req.Body, req.Actor, req.Role, req.RequestID
	if role == RoleSeller && d.t.FirstReplyAt == nil { // the seller's first reply is timed
		now := d.now
		d.t.FirstReplyAt = &now
		d.t.Flags.ReplyLate = now.Sub(d.t.CreatedAt) > d.p.ReplyTarget.D()
	}
	switch req.Action {
	case ActApprove:
		d.note(who, role, req.Action, b.Note, rid)
		d.approved(who, role, rid)
	case ActReject:
		d.transition(StateRejected, who, role, req.Action, b.Reason, rid)
	case ActOffer:
		d.t.Offer = &Offer{RefundCents: *b.RefundCents, KeepItem: b.KeepItem, Note: b.Note}
		d.transition(StateNegotiating, who, role, req.Action, b.Note, rid)
	case ActAcceptOffer:
		d.acceptOffer(who, role, rid)
	case ActDeclineOffer:
		d.transition(StatePendingReview, who, role, req.Action, b.Note, rid)
	case ActShip:
		d.t.Logistics.Carrier, d.t.Logistics.TrackingNo = b.Carrier, b.TrackingNo
		d.transition(StateInTransit, who, role, req.Action, b.Carrier+" "+b.TrackingNo, rid)
		d.do(Effect{Kind: EffectVerifyTracking, Carrier: b.Carrier, TrackingNo: b.TrackingNo})
	case ActConfirmReceipt:
		d.goodsArrived(who, role, req.Action, rid)
	case ActInspect:
		d.inspect(req)
	case ActReply:
		d.t.Replies++
		d.note(who, role, req.Action, b.Message, rid)
	case ActReportDelay:
		extend, _ := ParseDuration(b.Extend) // checked by CheckAction
		d.t.DelayReports = append(d.t.DelayReports, d.t.State)
		d.t.Flags.ExcludedFromAssessment = true
		d.t.Deadline = &Deadline{Name: d.t.Deadline.Name, At: d.t.Deadline.At.Add(extend.D())}
		d.note(who, role, req.Action, b.Reason+" (+"+extend.String()+")", rid)
	case ActEscalate:
		d.escalate(who, role, b.Reason, rid)
	case ActEvidence:
		n := Note{Role: role, At: d.now, Note: b.Note, URLs: b.URLs}
		d.t.Escalation.Evidence = append(d.t.Escalation.Evidence, n)
		d.note(who, role, req.Action, b.Note, rid)
		d.do(Effect{Kind: EffectSendEvidence, Evidence: &n})
	case ActArbitrate:
		v := Verdict{Verdict: b.Verdict, Note: b.Note, Actor: who}
		if b.RefundCents != nil {
			v.RefundCents = *b.RefundCents
		}
		return d.verdict(v, who, role)
	case ActCancel:
		if d.anchored() && d.t.State == StateEscalated {
			d.do(Effect{Kind: EffectEndEscalation}) // nothing left for the platform to decide
		}
		d.cancelVisit()
		d.t.Outcome = OutcomeWithdrawn
		d.transition(StateClosed, who, role, req.Action, b.Reason, rid)
	case ActRevise:
		if b.RequestedCents != nil {
			d.t.RequestedCents = *b.RequestedCents
		}
		if b.Reason != "" {
			d.t.Reason = b.Reason
		}
		d.t.Offer = nil
		d.transition(StatePendingReview, who, role, req.Action, b.Reason, rid)
	case ActConfirmReplacement:
		d.end(d.replacementOutcome(), who, role, req.Action)
	case ActReconcile:
		d.reconcileKey(req)
	case ActEvaluate:
		d.t.Evaluation = &Evaluation{Score: b.Score, Comment: b.Comment, At: d.now}
		d.note(who, role, req.Action, b.Comment, rid)
	}
	return nil
}

// acceptOffer settles the negotiation: a refund with the buyer keeping the item
// completes without a return; otherwise the return runs for the agreed amount.
func (d *decision) acceptOffer(who string, role Role, rid string) {
	o := *d.t.Offer
	d.note(who, role, ActAcceptOffer, o.Note, rid)
	if !o.KeepItem {
		d.t.RequestedCents = o.RefundCents
		d.approved(who, role, rid)
		return
	}
	outcome := OutcomePartiallyRefunded
	if d.t.Kind == KindExchange || d.t.Kind == KindRepair {
		outcome = OutcomeCompensated
	} else if o.RefundCents >= d.t.RequestedCents {
		outcome = OutcomeRefunded
	}
	d.refund(o.RefundCents, outcome, who, role, rid)
}

// inspect applies the seller's verdict on the returned goods.
func (d *decision) inspect(req ActionRequest) {
	b := req.Body
	d.t.Inspection = &Inspection{Result: b.Result, DeductPercent: b.DeductPercent, Note: b.Note}
	switch b.Result {
	case InspectFail:
		d.transition(StateRejected, req.Actor, req.Role, req.Action, "inspection failed: "+b.Note, req.RequestID)
	case InspectDeduct:
		amount, _ := RefundAfterInspection(d.t, d.p, b.DeductPercent) // checked by CheckAction
		d.note(req.Actor, req.Role, req.Action, fmt.Sprintf("deduct %d%%: %s", b.DeductPercent, b.Note), req.RequestID)
		d.refund(amount, OutcomePartiallyRefunded, req.Actor, req.Role, req.RequestID)
	default:
		d.inspectionPassed(req.Actor, req.Role, req.Action, b.Note, req.RequestID)
	}
}

// courier applies a courier's event. One that does not fit the ticket's state (a
// late or repeated report) is refused with ECONFLICT and changes nothing.
func (d *decision) courier(ev CourierEvent) error {
	s, m, note := d.t.State, d.t.ReturnMethod, ev.TrackingNo
	switch {
	case s == StateAwaitingPickup && m == ReturnPickup && ev.Type == CourierPickedUp:
		d.pickedUp(note)
	case s == StateAwaitingPickup && m == ReturnPickup && ev.Type == CourierDelivered:
		d.pickedUp(note) // delivered before picked_up: both happened
		if d.t.State == StateInTransit {
			d.goodsArrived(system, RoleSystem, ev.Type, "")
		}
	case s == StateAwaitingPickup && m == ReturnPickup && ev.Type == CourierPickupFailed:
		d.visitFailed("courier: pickup failed")
	case s == StateAwaitingPickup && m == ReturnSwapOnDelivery && ev.Type == CourierSwapCompleted:
		d.t.Logistics.Returned = true
		d.note(system, RoleSystem, ev.Type, note, "")
		d.end(OutcomeSwapped, system, RoleSystem, ev.Type)
	case s == StateAwaitingPickup && m == ReturnSwapOnDelivery && ev.Type == CourierSwapFailed:
		d.visitFailed("courier: swap visit failed")
	case s == StateInTransit && ev.Type == CourierDelivered:
		d.goodsArrived(system, RoleSystem, ev.Type, "")
	case d.anchored() && s == StateEscalated && ev.Type == CourierDelivered && !d.t.Logistics.Returned &&
		d.t.Kind.NeedsReturn() && (d.t.Logistics.TrackingNo == "" || ev.TrackingNo == "" || ev.TrackingNo == d.t.Logistics.TrackingNo):
		// The return parcel arrived while the platform decides: recorded, and it
		// counts for the verdict as the buyer's evidence, from the courier.
		d.t.Logistics.Returned = true
		d.note(system, RoleSystem, ev.Type, "return parcel delivered during the escalation "+note, "")
		n := Note{Role: RoleBuyer, At: d.now, Note: "courier: the return parcel was delivered " + note}
		d.t.Escalation.Evidence = append(d.t.Escalation.Evidence, n)
		d.do(Effect{Kind: EffectSendEvidence, Evidence: &n})
	case s == StateRecovering && ev.Type == CourierDelivered:
		d.goodsAfterRecovery(ev.Type, "goods arrived during recovery")
	case (d.t.Flags.WrittenOff || d.t.Outcome == OutcomeRecovered) && !d.t.Logistics.Returned && ev.Type == CourierDelivered:
		d.goodsAfterRecovery(ev.Type, "goods arrived after the refund was charged back")
	case s == StateReplacementShipping && ev.Type == CourierReplacementDelivered:
		// The buyer's confirmation window runs from the delivery.
		d.transition(StateReplacementShipping, system, RoleSystem, ev.Type, note, "")
	case s == StateRepairing && ev.Type == CourierReplacementDelivered:
		d.note(system, RoleSystem, ev.Type, "repaired item delivered", "")
		d.end(OutcomeRepaired, system, RoleSystem, ev.Type)
	default:
		return Errorf(ECONFLICT, "courier event %s does not apply to a ticket in state %s", ev.Type, s)
	}
	return nil
}

// pickedUp: the goods are with the courier; an eligible return is refunded now.
func (d *decision) pickedUp(note string) {
	d.transition(StateInTransit, system, RoleSystem, CourierPickedUp, note, "")
	d.lightningRefund()
}

// deadline applies the "on timeout" column of the state table. A name other than
// the running deadline's (a timer that outlived a change) is refused.
func (d *decision) deadline(name string) error {
	if name == ReconcileBy {
		return d.reconcile()
	}
	if d.t.Deadline == nil || d.t.Deadline.Name != name || d.now.Before(d.t.Deadline.At) {
		return Errorf(ECONFLICT, "deadline %s is not due in state %s", name, d.t.State)
	}
	if d.t.State != StateEscalated {
		d.t.Flags.AutoActed = true
	}
	why := name + " passed"
	switch d.t.State {
	case StatePendingReview:
		d.system("auto_approve", why)
		d.approved(system, RoleSystem, "")
	case StateNegotiating, StateAwaitingBuyerShipment, StateRejected:
		outcome := OutcomeExpired
		if d.t.State == StateRejected {
			outcome = OutcomeRejected
		}
		if d.anchored() {
			d.system("expire", why)
			d.end(outcome, system, RoleSystem, "expire") // never closed with money in flight
			return nil
		}
		d.t.Outcome = outcome
		d.transition(StateClosed, system, RoleSystem, "expire", why, "")
	case StateAwaitingPickup:
		d.visitFailed(why)
	case StateInTransit:
		paid, inFlight := d.t.Refunds.Paid(PurposeRefund), d.t.Refunds.InFlight(PurposeRefund)
		if d.t.Flags.LightningRefund && paid > 0 {
			d.transition(StateRecovering, system, RoleSystem, "start_recovery", why, "")
			d.sendMoney(PurposeRecovery, paid)
		} else if d.anchored() && d.t.Flags.LightningRefund && inFlight > 0 {
			// The lightning refund is still being paid: recovered as it lands
			// (moneySucceeded), like one paid before arrive_by.
			d.transition(StateRecovering, system, RoleSystem, "start_recovery", why+"; the lightning refund is still in flight", "")
		} else {
			d.escalate(system, RoleSystem, "return parcel not delivered: "+why, "")
		}
	case StateAwaitingInspection:
		d.inspectionPassed(system, RoleSystem, "auto_pass", why, "")
	case StateRefunding:
		d.refundOverdue(why)
	case StateReplacementShipping:
		d.end(d.replacementOutcome(), system, RoleSystem, "auto_confirm")
	case StateRepairing:
		d.escalate(system, RoleSystem, "repair not finished: "+why, "")
	case StateEscalated:
		// The escalation owns evidence_by and decide_by; the ticket shows the next.
		// At decide_by the escalation decides for the party that answered.
		if name == "decide_by" && d.t.Escalation.Orphaned {
			answered := map[Role]bool{}
			for _, n := range d.t.Escalation.Evidence {
				answered[n.Role] = true
			}
			return d.verdict(AutomaticVerdict(answered[RoleBuyer], answered[RoleSeller], d.t.Escalation.ClaimCents), system, RoleSystem)
		}
		if name != "evidence_by" {
			return Errorf(ECONFLICT, "at %s the escalation decides; its verdict comes as an input", name)
		}
		d.t.Deadline = &Deadline{Name: "decide_by", At: d.t.Escalation.DecideBy}
		d.system("evidence_closed", "waiting for the platform's verdict")
	case StateRecovering:
		d.t.Flags.WrittenOff = true
		d.escalate(system, RoleSystem, "lightning refund written off: "+why, "")
	}
	return nil
}
