package workflows

import (
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// A failed inspection cannot be revised (the seller has the goods); the platform
// overrules it, and the ticket refunds without booking another pickup.
func TestPlatformOverrulesFailedInspection(t *testing.T) {
	failed := seller("inspect", models.ActionBody{Result: models.InspectFail, Note: "scratched"})
	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
	tk := h.run(
		at(time.Hour, approve),
		at(2*time.Hour, courier(models.CourierPickedUp)),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, failed),
		at(5*time.Hour, inState(models.StateRejected), deadlineAt("appeal_by", 4*time.Hour+7*day)),
		at(6*time.Hour, buyer("revise", models.ActionBody{Reason: "try again"}).refused(models.ECONFLICT)),
		at(7*time.Hour, buyer("escalate", models.ActionBody{Reason: "it was new"})),
		at(8*time.Hour, verdict(models.VerdictSupportBuyer, i64(0))),
		at(9*time.Hour, inState(models.StateRefunding)),
		at(10*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	eq(t, "pickups booked", h.f.courier.counts().pickups, 1)
	eq(t, "refunded", tk.RefundedCents, int64(100_000))
}

// A restocking fee applies to refunds only: an exchange is passed or failed.
func TestDeductRefusedForExchange(t *testing.T) {
	h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip))
	tk := h.run(
		at(time.Hour, approve),
		at(2*time.Hour, shipSF),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, seller("inspect", models.ActionBody{Result: models.InspectDeduct, DeductPercent: 10}).refused(models.EINVALID)),
		at(5*time.Hour, passed),
		at(6*time.Hour, buyer("confirm_replacement")),
	)
	wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
	eq(t, "refunds", len(tk.Refunds), 0)
}
