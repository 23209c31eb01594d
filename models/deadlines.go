package models

// The deadlines' apply functions, the "on timeout" column of DESIGN.md §2:
// deadlineRules (table.go) says which one applies to which deadline in which
// state.

// deadline applies the rule of deadlineRules for the deadline name that passed.
// A name other than the running deadline's, or one not yet due (a timer that
// outlived a change), is refused with ECONFLICT; so is ReconcileBy on a ticket
// without money in flight after its end.
func (d *decision) deadline(name string) error {
	if name != ReconcileBy && (d.t.Deadline == nil || d.t.Deadline.Name != name || d.now.Before(d.t.Deadline.At)) {
		return Errorf(ECONFLICT, "deadline %s is not due in state %s", name, d.t.State)
	}
	tr := match(deadlineRules, name, d.t, name)
	switch {
	case tr == nil && name == ReconcileBy:
		return Errorf(ECONFLICT, "ticket %s has no money in flight to reconcile", d.t.ID)
	case tr == nil:
		return Errorf(ECONFLICT, "deadline %s does not apply to a ticket in state %s", name, d.t.State)
	}
	if tr.AutoActed {
		d.t.Flags.AutoActed = true
	}
	return tr.apply(d, name)
}

func passed(name string) string { return name + " passed" }

// onReviewBy: the seller did not decide in time; the platform approves.
func (d *decision) onReviewBy(name string) error {
	d.system("auto_approve", passed(name))
	d.approved(system, RoleSystem, "")
	return nil
}

// onExpire closes a ticket whose party did not answer in time: expired, or
// rejected after appeal_by. Under the money rules it never closes with money in
// flight.
func (d *decision) onExpire(name string) error {
	outcome := OutcomeExpired
	if d.t.State == StateRejected {
		outcome = OutcomeRejected
	}
	if d.anchored() {
		d.system("expire", passed(name))
		d.end(outcome, system, RoleSystem, "expire")
		return nil
	}
	d.t.Outcome = outcome
	d.transition(StateClosed, system, RoleSystem, "expire", passed(name), "")
	return nil
}

// onPickupBy books the visit again, or falls back to the buyer shipping.
func (d *decision) onPickupBy(name string) error {
	d.visitFailed(passed(name))
	return nil
}

// onArriveBy: the return parcel never arrived. A lightning refund paid starts
// its recovery (闪电催收); one still in flight is recovered as it lands; without
// one the platform is called in.
func (d *decision) onArriveBy(name string) error {
	why := passed(name)
	paid, inFlight := d.t.Refunds.Paid(PurposeRefund), d.t.Refunds.InFlight(PurposeRefund)
	switch {
	case d.t.Flags.LightningRefund && paid > 0:
		d.transition(StateRecovering, system, RoleSystem, "start_recovery", why, "")
		d.sendMoney(PurposeRecovery, paid)
	case d.anchored() && d.t.Flags.LightningRefund && inFlight > 0:
		// The lightning refund is still being paid: recovered as it lands
		// (moneySucceeded), like one paid before arrive_by.
		d.transition(StateRecovering, system, RoleSystem, "start_recovery", why+"; the lightning refund is still in flight", "")
	default:
		d.escalate(system, RoleSystem, "return parcel not delivered: "+why, "")
	}
	return nil
}

// onInspectBy: the seller did not inspect in time; the inspection passes.
func (d *decision) onInspectBy(name string) error {
	d.inspectionPassed(system, RoleSystem, "auto_pass", passed(name), "", false)
	return nil
}

// onRefundBy: the refund is overdue; the platform forces it (refundOverdue).
func (d *decision) onRefundBy(name string) error {
	d.refundOverdue(passed(name))
	return nil
}

// onConfirmBy: the buyer did not confirm the replacement; it is confirmed.
func (d *decision) onConfirmBy(string) error {
	d.end(d.replacementOutcome(), system, RoleSystem, "auto_confirm")
	return nil
}

func (d *decision) onRepairBy(name string) error {
	d.escalate(system, RoleSystem, "repair not finished: "+passed(name), "")
	return nil
}

// onEvidenceBy: the escalation owns evidence_by and decide_by; the ticket shows
// the next.
func (d *decision) onEvidenceBy(string) error {
	d.t.Deadline = &Deadline{Name: "decide_by", At: d.t.Escalation.DecideBy}
	d.system("evidence_closed", "waiting for the platform's verdict")
	return nil
}

// onDecideBy: the escalation's process failed, so the ticket decides at decide_by
// itself, for the party that answered.
func (d *decision) onDecideBy(string) error {
	answered := map[Role]bool{}
	for _, n := range d.t.Escalation.Evidence {
		answered[n.Role] = true
	}
	return d.verdict(AutomaticVerdict(answered[RoleBuyer], answered[RoleSeller], d.t.Escalation.ClaimCents), system, RoleSystem)
}

// onDecideByElsewhere: at decide_by the escalation decides; its verdict comes as
// an input.
func (d *decision) onDecideByElsewhere(name string) error {
	return Errorf(ECONFLICT, "at %s the escalation decides; its verdict comes as an input", name)
}

// onRecoverBy: the recovery did not succeed in time; it is written off and the
// platform called in.
func (d *decision) onRecoverBy(name string) error {
	d.t.Flags.WrittenOff = true
	d.escalate(system, RoleSystem, "lightning refund written off: "+passed(name), "")
	return nil
}

// onReconcileBy looks up the money an ended ticket still has in flight.
func (d *decision) onReconcileBy(string) error { return d.reconcile() }

// escalationVerdict applies the escalation's own verdict (an Input.Verdict).
func (d *decision) escalationVerdict(v Verdict) error { return d.verdict(v, system, RoleSystem) }
