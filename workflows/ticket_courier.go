package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// onCourierEvent applies a courier webhook. Events that do not fit the current state
// are ignored, except that a delivery reported before its pickup counts as both, so
// out-of-order webhooks still move the ticket forward.
func (w *ticketWorkflow) onCourierEvent(ctx workflow.Context, ev models.CourierEvent) {
	note := ev.TrackingNo
	switch {
	case w.t.State == models.StateAwaitingPickup && w.t.ReturnMethod == models.ReturnPickup:
		switch ev.Type {
		case models.CourierPickedUp:
			w.pickedUp(ctx, note)
		case models.CourierDelivered:
			w.pickedUp(ctx, note)
			if w.t.State == models.StateInTransit {
				w.goodsArrived(ctx, system, models.RoleSystem, models.CourierDelivered, "")
			}
		case models.CourierPickupFailed:
			w.visitFailed(ctx, "courier: pickup failed")
		}
	case w.t.State == models.StateAwaitingPickup && w.t.ReturnMethod == models.ReturnSwapOnDelivery:
		switch ev.Type {
		case models.CourierSwapCompleted:
			w.complete(ctx, models.OutcomeSwapped, system, models.RoleSystem, ev.Type, note, "")
		case models.CourierSwapFailed:
			w.visitFailed(ctx, "courier: swap visit failed")
		}
	case w.t.State == models.StateInTransit && ev.Type == models.CourierDelivered:
		w.goodsArrived(ctx, system, models.RoleSystem, ev.Type, "")
	case w.t.State == models.StateRecovering && ev.Type == models.CourierDelivered:
		w.complete(ctx, models.OutcomeRefunded, system, models.RoleSystem, ev.Type, "goods arrived during recovery", "")
	case w.t.State == models.StateReplacementShipping && ev.Type == models.CourierReplacementDelivered:
		// The buyer's confirmation window runs from the delivery.
		w.transition(ctx, models.StateReplacementShipping, system, models.RoleSystem, ev.Type, note, "")
	case w.t.State == models.StateRepairing && ev.Type == models.CourierReplacementDelivered:
		w.complete(ctx, models.OutcomeRepaired, system, models.RoleSystem, ev.Type, "repaired item delivered", "")
	}
}
