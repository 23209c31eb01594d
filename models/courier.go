package models

// The courier events' apply functions: courierRules (table.go) says which one
// applies to which event in which state.

// courier applies a courier's event by the first rule of courierRules that fits.
// One that no rule fits (a late or repeated report) is refused with ECONFLICT and
// changes nothing.
func (d *decision) courier(ev CourierEvent) error {
	tr := match(courierRules, ev.Type, d.t, ev)
	if tr == nil {
		return Errorf(ECONFLICT, "courier event %s does not apply to a ticket in state %s", ev.Type, d.t.State)
	}
	return tr.apply(d, ev)
}

// onPickedUp: the goods are with the courier; an eligible return is refunded now.
func (d *decision) onPickedUp(ev CourierEvent) error {
	d.pickedUp(ev.TrackingNo)
	return nil
}

// onDeliveredUnpicked: delivered before picked_up was reported: both happened.
func (d *decision) onDeliveredUnpicked(ev CourierEvent) error {
	d.pickedUp(ev.TrackingNo)
	if d.t.State == StateInTransit {
		d.goodsArrived(system, RoleSystem, ev.Type, "")
	}
	return nil
}

// pickedUp: the goods are with the courier; an eligible return is refunded now.
func (d *decision) pickedUp(note string) {
	d.transition(StateInTransit, system, RoleSystem, CourierPickedUp, note, "")
	d.lightningRefund()
}

func (d *decision) onPickupFailed(CourierEvent) error {
	d.visitFailed("courier: pickup failed")
	return nil
}

// onSwapCompleted: the replacement was handed over and the old item taken back.
func (d *decision) onSwapCompleted(ev CourierEvent) error {
	d.t.Logistics.Returned = true
	d.note(system, RoleSystem, ev.Type, ev.TrackingNo, "")
	d.end(OutcomeSwapped, system, RoleSystem, ev.Type)
	return nil
}

func (d *decision) onSwapFailed(CourierEvent) error {
	d.visitFailed("courier: swap visit failed")
	return nil
}

func (d *decision) onDelivered(ev CourierEvent) error {
	d.goodsArrived(system, RoleSystem, ev.Type, "")
	return nil
}

// onDeliveredEscalated: the return parcel arrived while the platform decides:
// recorded, and it counts for the verdict as the buyer's evidence, from the
// courier.
func (d *decision) onDeliveredEscalated(ev CourierEvent) error {
	note := ev.TrackingNo
	d.t.Logistics.Returned = true
	d.note(system, RoleSystem, ev.Type, "return parcel delivered during the escalation "+note, "")
	n := Note{Role: RoleBuyer, At: d.now, Note: "courier: the return parcel was delivered " + note}
	d.t.Escalation.Evidence = append(d.t.Escalation.Evidence, n)
	d.do(Effect{Kind: EffectSendEvidence, Evidence: &n})
	return nil
}

// onDeliveryRecorded: the return parcel arrived before the ticket asked for it
// (the buyer sent it during the review or the negotiation): recorded, so an
// approval goes straight to the refund or the replacement.
func (d *decision) onDeliveryRecorded(ev CourierEvent) error {
	d.t.Logistics.Returned = true
	d.note(system, RoleSystem, ev.Type, "return parcel delivered before it was asked for "+ev.TrackingNo, "")
	return nil
}

func (d *decision) onDeliveredRecovering(ev CourierEvent) error {
	d.goodsAfterRecovery(ev.Type, "goods arrived during recovery")
	return nil
}

func (d *decision) onDeliveredWrittenOff(ev CourierEvent) error {
	d.goodsAfterRecovery(ev.Type, "goods arrived after the refund was charged back")
	return nil
}

// onReplacementDelivered: the buyer's confirmation window runs from the delivery.
func (d *decision) onReplacementDelivered(ev CourierEvent) error {
	d.transition(StateReplacementShipping, system, RoleSystem, ev.Type, ev.TrackingNo, "")
	return nil
}

func (d *decision) onRepairedDelivered(ev CourierEvent) error {
	d.note(system, RoleSystem, ev.Type, "repaired item delivered", "")
	d.end(OutcomeRepaired, system, RoleSystem, ev.Type)
	return nil
}
