package workflows

import (
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

var (
	approve  = seller("approve")
	passed   = seller("inspect", models.ActionBody{Result: models.InspectPass, Note: "as new"})
	shipSF   = buyer("ship", models.ActionBody{Carrier: "SF", TrackingNo: "SF1234567"})
	noteBody = models.ActionBody{Note: "ok"}
)

// awaiting_pickup: picked_up, pickup_failed (re-book), pickup_by (48 h) re-books up to
// pickup_attempts (2) and then falls back to the buyer shipping the goods.
func TestAwaitingPickup(t *testing.T) {
	t.Run("picked up", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		tk := h.run(
			at(time.Hour, approve),
			at(2*time.Hour, inState(models.StateAwaitingPickup), deadlineAt("pickup_by", 49*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "attempts", tk.Logistics.PickupAttempts, 1)
					eq(t, "booking", tk.Logistics.PickupBooking, "pickup-T1-1")
				})),
			at(3*time.Hour, courier(models.CourierPickedUp)),
			at(4*time.Hour, inState(models.StateInTransit), deadlineAt("arrive_by", 3*time.Hour+15*day),
				check(func(t *testing.T, tk models.Ticket) { eq(t, "lightning", tk.Flags.LightningRefund, false) })),
			at(5*time.Hour, courier(models.CourierDelivered)),
			at(6*time.Hour, inState(models.StateAwaitingInspection), deadlineAt("inspect_by", 5*time.Hour+10*day)),
			at(7*time.Hour, passed),
			at(8*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantTimeline(t, tk, "create", "approve", "book_pickup", "pickup_booked", "picked_up", "delivered", "inspect", "refund", "refund_paid")
		eq(t, "pickups booked", h.f.courier.counts().pickups, 1)
		eq(t, "refunds paid to the provider", h.f.pay.callsFor(key(1)), 1)
		eq(t, "auto_acted", tk.Flags.AutoActed, false)
	})
	t.Run("pickup_failed re-books, the second failure falls back to self_ship", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		tk := h.run(
			at(time.Hour, approve),
			at(5*time.Hour, courier(models.CourierPickupFailed)),
			at(6*time.Hour, inState(models.StateAwaitingPickup), deadlineAt("pickup_by", 53*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "attempts", tk.Logistics.PickupAttempts, 2)
					eq(t, "booking", tk.Logistics.PickupBooking, "pickup-T1-2")
				})),
			at(7*time.Hour, courier(models.CourierPickupFailed)),
			at(8*time.Hour, inState(models.StateAwaitingBuyerShipment), deadlineAt("ship_by", 7*time.Hour+7*day),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "return_method", tk.ReturnMethod, models.ReturnSelfShip)
				})),
			at(9*time.Hour, shipSF),
			at(10*time.Hour, courier(models.CourierDelivered)),
			at(11*time.Hour, passed),
			at(12*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		c := h.f.courier.counts()
		eq(t, "pickups booked", c.pickups, 2)
		eq(t, "bookings cancelled", c.cancels, 2) // each visit once it is no longer wanted
		wantTimeline(t, tk, "book_pickup", "rebook_pickup", "fallback_self_ship", "ship", "delivered")
	})
	t.Run("pickup_by passes twice: re-book, then self_ship", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		tk := h.run(
			at(time.Hour, approve),
			at(49*time.Hour-sec, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "attempts", tk.Logistics.PickupAttempts, 1)
			})),
			at(49*time.Hour+sec, inState(models.StateAwaitingPickup), deadlineAt("pickup_by", 97*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "attempts", tk.Logistics.PickupAttempts, 2)
					eq(t, "auto_acted", tk.Flags.AutoActed, true)
				})),
			at(97*time.Hour+sec, inState(models.StateAwaitingBuyerShipment), deadlineAt("ship_by", 97*time.Hour+7*day),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "return_method", tk.ReturnMethod, models.ReturnSelfShip)
				})),
			// ship_by passes too: the ticket expires.
			at(97*time.Hour+7*day+sec, inState(models.StateClosed, models.OutcomeExpired)),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeExpired)
		eq(t, "pickups booked", h.f.courier.counts().pickups, 2)
		eq(t, "bookings cancelled", h.f.courier.counts().cancels, 2)
	})
	t.Run("more attempts by policy", func(t *testing.T) {
		p := harnessPolicy()
		p.PickupAttempts = 3
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup), withPolicy(p))
		h.run(
			at(time.Hour, approve),
			at(2*time.Hour, courier(models.CourierPickupFailed)),
			at(3*time.Hour, courier(models.CourierPickupFailed)),
			at(4*time.Hour, inState(models.StateAwaitingPickup)),
			at(5*time.Hour, courier(models.CourierPickupFailed)),
			at(6*time.Hour, inState(models.StateAwaitingBuyerShipment)),
			at(7*time.Hour, buyer("cancel")),
		)
		eq(t, "pickups booked", h.f.courier.counts().pickups, 3)
	})
}

// awaiting_buyer_shipment: ship (tracking verified) → in_transit; ship_by (7 d) → expired.
func TestAwaitingBuyerShipment(t *testing.T) {
	t.Run("ship", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip))
		tk := h.run(
			at(time.Hour, approve),
			at(2*time.Hour, inState(models.StateAwaitingBuyerShipment), deadlineAt("ship_by", time.Hour+7*day)),
			at(3*time.Hour, buyer("ship", models.ActionBody{Carrier: "SF"}).refused(models.EINVALID)),
			at(3*time.Hour+time.Minute, seller("ship", models.ActionBody{Carrier: "SF", TrackingNo: "X"}).refused(models.EFORBIDDEN)),
			at(4*time.Hour, shipSF.returning(func(t *testing.T, tk models.Ticket) {
				eq(t, "state", tk.State, models.StateInTransit)
			})),
			at(5*time.Hour, inState(models.StateInTransit), deadlineAt("arrive_by", 4*time.Hour+15*day),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "carrier", tk.Logistics.Carrier, "SF")
					eq(t, "tracking", tk.Logistics.TrackingNo, "SF1234567")
					eq(t, "lightning", tk.Flags.LightningRefund, false)
				})),
			at(6*time.Hour, seller("confirm_receipt", noteBody)),
			at(7*time.Hour, inState(models.StateAwaitingInspection)),
			at(8*time.Hour, passed),
			at(9*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "tracking verified", h.f.courier.counts().verifies, 1)
		wantTimeline(t, tk, "await_shipment", "ship", "tracking_verified", "confirm_receipt", "inspect", "refund_paid")
	})
	t.Run("ship_by passes: expired", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, approve),
			at(time.Hour+7*day-sec, inState(models.StateAwaitingBuyerShipment)),
			at(time.Hour+7*day+sec, inState(models.StateClosed, models.OutcomeExpired)),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeExpired)
		eq(t, "auto_acted", tk.Flags.AutoActed, true)
		wantTimeline(t, tk, "await_shipment", "expire")
	})
}

// in_transit: delivered → awaiting_inspection; arrive_by (15 d) without a lightning
// refund → escalated. (With a lightning refund: see TestRecovering.)
func TestInTransit(t *testing.T) {
	t.Run("delivered", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, approve),
			at(2*time.Hour, shipSF),
			at(3*time.Hour, courier(models.CourierDelivered)),
			at(4*time.Hour, inState(models.StateAwaitingInspection), deadlineAt("inspect_by", 3*time.Hour+10*day)),
			at(5*time.Hour, buyer("cancel")),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
	})
	t.Run("arrive_by passes without lightning refund: escalated", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, approve),
			at(2*time.Hour, shipSF),
			at(2*time.Hour+15*day-sec, inState(models.StateInTransit)),
			at(2*time.Hour+15*day+sec, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "escalated", tk.Flags.Escalated, true)
				eq(t, "auto_acted", tk.Flags.AutoActed, true)
				eq(t, "escalation from", tk.Escalation.From, models.StateInTransit)
				eq(t, "escalated by", tk.Escalation.By, models.RoleSystem)
				eq(t, "refunds", len(tk.Refunds), 0)
			})),
			at(2*time.Hour+16*day, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(100_000)})),
			at(2*time.Hour+16*day+time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	})
}

// replacement_shipping: confirm_replacement → exchanged; confirm_by (7 d) → auto-confirm.
func TestReplacementShipping(t *testing.T) {
	toReplacement := []step{
		at(time.Hour, approve),
		at(2*time.Hour, shipSF),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, passed),
		at(5*time.Hour, inState(models.StateReplacementShipping), deadlineAt("confirm_by", 4*time.Hour+7*day),
			check(func(t *testing.T, tk models.Ticket) {
				eq(t, "replacement tracking", tk.Logistics.ReplacementNo, "RPT1")
				eq(t, "refunds", len(tk.Refunds), 0)
			})),
	}
	t.Run("buyer confirms", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip))
		tk := h.run(append(toReplacement,
			at(6*time.Hour, seller("confirm_replacement").refused(models.EFORBIDDEN)),
			at(7*time.Hour, buyer("confirm_replacement", noteBody)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		eq(t, "replacements shipped", h.f.courier.counts().shipped, 1)
		eq(t, "refunded", tk.RefundedCents, 0)
		wantTimeline(t, tk, "inspect", "replacement_shipped", "confirm_replacement")
	})
	t.Run("confirm_by passes: auto-confirmed, counted from the delivery", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip)).run(append(toReplacement,
			at(2*day, courier(models.CourierReplacementDelivered)),
			at(2*day+time.Hour, inState(models.StateReplacementShipping), deadlineAt("confirm_by", 9*day)),
			at(9*day-sec, inState(models.StateReplacementShipping)),
			at(9*day+sec, inState(models.StateCompleted, models.OutcomeExchanged)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		eq(t, "auto_acted", tk.Flags.AutoActed, true)
		wantTimeline(t, tk, "replacement_delivered", "auto_confirm")
	})
}

// repairing: replacement_delivered (the repaired item) → repaired; repair_by (15 d) → escalated.
func TestRepairing(t *testing.T) {
	toRepair := []step{
		at(time.Hour, approve),
		at(2*time.Hour, courier(models.CourierPickedUp)),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, inState(models.StateRepairing), deadlineAt("repair_by", 3*time.Hour+15*day),
			check(func(t *testing.T, tk models.Ticket) { eq(t, "repair order", tk.Logistics.RepairOrder, "repair-T1") })),
	}
	t.Run("repaired item delivered", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindRepair, models.ReturnPickup))
		tk := h.run(append(toRepair,
			at(5*day, courier(models.CourierReplacementDelivered)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRepaired)
		eq(t, "repair orders", h.f.courier.counts().repairs, 1)
		eq(t, "refunds", len(tk.Refunds), 0)
	})
	t.Run("repair_by passes: escalated", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRepair, models.ReturnPickup)).run(append(toRepair,
			at(3*time.Hour+15*day-sec, inState(models.StateRepairing)),
			at(3*time.Hour+15*day+sec, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "auto_acted", tk.Flags.AutoActed, true)
				eq(t, "escalation from", tk.Escalation.From, models.StateRepairing)
			})),
			at(16*day, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(20_000)})),
			at(17*day, payment(key(1), models.RefundSucceeded)),
		)...)
		// A repair asks for no money (requested_cents 0), so any amount the platform
		// awards completes it as refunded.
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 20_000)
	})
	t.Run("either party may escalate a repair", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRepair, models.ReturnPickup)).run(append(toRepair,
			at(5*day, buyer("escalate").refused(models.EINVALID)),
			at(5*day+time.Minute, buyer("escalate", models.ActionBody{Reason: "taking too long"})),
			at(5*day+time.Hour, inState(models.StateEscalated)),
		)...)
		// Nobody sends evidence: the seller is supported at decide_by.
		wantEnd(t, tk, models.StateClosed, models.OutcomePlatformDeclined)
	})
}

// exchange with swap_on_delivery (上门换新): swap_completed → swapped; swap_failed
// re-books and then falls back to the buyer shipping.
func TestSwapOnDelivery(t *testing.T) {
	t.Run("swap completed", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSwapOnDelivery, freightInsured()))
		tk := h.run(
			at(time.Hour, approve),
			at(2*time.Hour, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "booking", tk.Logistics.PickupBooking, "swap-T1-1")
			})),
			at(3*time.Hour, courier(models.CourierPickedUp)), // not a swap event: ignored
			at(4*time.Hour, inState(models.StateAwaitingPickup)),
			at(5*time.Hour, courier(models.CourierSwapCompleted)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeSwapped)
		c := h.f.courier.counts()
		eq(t, "swap visits", c.swaps, 1)
		eq(t, "pickups", c.pickups, 0)
		eq(t, "replacements shipped separately", c.shipped, 0)
		// The courier carried both ways: no freight for the buyer to claim.
		eq(t, "money movements", len(tk.Refunds), 0)
		wantTimeline(t, tk, "book_swap_visit", "swap_visit_booked", "swap_completed")
	})
	t.Run("swap failed twice: self_ship, then the usual exchange", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSwapOnDelivery))
		tk := h.run(
			at(time.Hour, approve),
			at(2*time.Hour, courier(models.CourierSwapFailed)),
			at(3*time.Hour, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "attempts", tk.Logistics.PickupAttempts, 2)
				eq(t, "booking", tk.Logistics.PickupBooking, "swap-T1-2")
			})),
			at(4*time.Hour, courier(models.CourierSwapFailed)),
			at(5*time.Hour, inState(models.StateAwaitingBuyerShipment), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "return_method", tk.ReturnMethod, models.ReturnSelfShip)
			})),
			at(6*time.Hour, shipSF),
			at(7*time.Hour, courier(models.CourierDelivered)),
			at(8*time.Hour, passed),
			at(9*time.Hour, buyer("confirm_replacement")),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		c := h.f.courier.counts()
		eq(t, "swap visits", c.swaps, 2)
		eq(t, "cancelled", c.cancels, 2)
		eq(t, "replacements", c.shipped, 1)
		wantTimeline(t, tk, "book_swap_visit", "rebook_swap_visit", "fallback_self_ship", "ship", "confirm_replacement")
	})
	t.Run("swap visit pickup_by passes twice", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindExchange, models.ReturnSwapOnDelivery)).run(
			at(time.Hour, approve),
			at(49*time.Hour+sec, inState(models.StateAwaitingPickup)),
			at(97*time.Hour+sec, inState(models.StateAwaitingBuyerShipment)),
			at(98*time.Hour, buyer("cancel")),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
	})
}

// Courier webhooks are deduplicated by event id.
func TestCourierWebhookDuplicates(t *testing.T) {
	t.Run("picked_up twice", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup)).run(
			at(time.Hour, approve),
			at(2*time.Hour, courierEv("ev-1", models.CourierPickedUp)),
			at(3*time.Hour, courierEv("ev-1", models.CourierPickedUp)),
			at(4*time.Hour, courierEv("ev-2", models.CourierDelivered)),
			at(5*time.Hour, courierEv("ev-2", models.CourierDelivered)),
			at(6*time.Hour, inState(models.StateAwaitingInspection)),
			at(7*time.Hour, buyer("cancel")),
		)
		n := 0
		for _, e := range tk.Timeline {
			if e.Action == models.CourierPickedUp || e.Action == models.CourierDelivered {
				n++
			}
		}
		eq(t, "courier events applied", n, 2)
	})
	t.Run("pickup_failed twice re-books once", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		h.run(
			at(time.Hour, approve),
			at(2*time.Hour, courierEv("ev-9", models.CourierPickupFailed)),
			at(3*time.Hour, courierEv("ev-9", models.CourierPickupFailed)),
			at(4*time.Hour, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "attempts", tk.Logistics.PickupAttempts, 2)
			})),
			at(5*time.Hour, buyer("cancel")),
		)
		eq(t, "pickups booked", h.f.courier.counts().pickups, 2)
	})
}

// A delivery reported before its pickup counts as both.
func TestCourierOutOfOrder(t *testing.T) {
	t.Run("delivered before picked_up", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup)).run(
			at(time.Hour, approve),
			at(2*time.Hour, courier(models.CourierDelivered)),
			at(3*time.Hour, inState(models.StateAwaitingInspection)),
			at(4*time.Hour, courier(models.CourierPickedUp)), // late: ignored
			at(5*time.Hour, inState(models.StateAwaitingInspection)),
			at(6*time.Hour, passed),
			at(7*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		wantTimeline(t, tk, "book_pickup", "picked_up", "delivered", "inspect", "refund_paid")
	})
	t.Run("delivered before picked_up with lightning refund", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()))
		tk := h.run(
			at(2*time.Hour, courier(models.CourierDelivered)),
			at(3*time.Hour, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "lightning", tk.Flags.LightningRefund, true)
			})),
			at(4*time.Hour, courier(models.CourierPickedUp)),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 30_000)
		wantOneCallPerKey(t, h.f, key(1))
	})
	t.Run("events that do not fit the state are ignored", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, courier(models.CourierPickupFailed)), // pending_review
			at(2*time.Hour, inState(models.StatePendingReview)),
			at(3*time.Hour, approve),
			at(4*time.Hour, courier(models.CourierPickedUp)), // self_ship: no pickup
			at(5*time.Hour, courier(models.CourierReplacementDelivered)),
			at(6*time.Hour, inState(models.StateAwaitingBuyerShipment)),
			at(7*time.Hour, buyer("cancel")),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
	})
}
