package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// sentLines is the lines the provider received with key's pay call.
func (h *harness) sentLines(key string) string {
	r, _ := h.f.pay.request(key)
	return fmt.Sprint(r.Lines)
}

// 2 cups and a plate returned, 1 cup in the parcel: the cup that arrived and
// the plate are refunded, and the provider is told which lines it pays.
func TestInspectionByLineInTheWorkflow(t *testing.T) {
	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, cupsAndPlate))
	tk := h.run(
		at(time.Hour, approve),
		at(2*time.Hour, shipSF),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, seller("inspect", models.ActionBody{Result: models.InspectPass,
			Lines: []models.LineInspection{{SKU: "CUP", Received: 1}, {SKU: "PLATE", Received: 1}}})),
		at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	wantEnd(t, tk, models.StateCompleted, models.OutcomePartiallyRefunded)
	eq(t, "refunded", tk.RefundedCents, 3_500)
	eq(t, "lines sent to the provider", h.sentLines(key(1)), "[{CUP 1000} {PLATE 2500}]")
}

// A ticket from before lines (its create named no lines) runs to its end on
// today's code: an inspection counted by line is refused (there is nothing to
// count against), the whole inspection refunds the request, and its money
// carries no lines.
func TestTicketFromBeforeLines(t *testing.T) {
	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip, func(c *models.CreateTicket) { c.Items = nil }))
	tk := h.run(
		at(time.Hour, approve),
		at(2*time.Hour, shipSF),
		at(3*time.Hour, courier(models.CourierDelivered)),
		at(4*time.Hour, seller("inspect", models.ActionBody{Result: models.InspectPass,
			Lines: []models.LineInspection{{SKU: "SKU-1", Received: 1}}}).refused(models.EINVALID)),
		at(5*time.Hour, passed),
		at(6*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	eq(t, "refunded", tk.RefundedCents, 100_000)
	eq(t, "lines sent to the provider", h.sentLines(key(1)), "[]")
}
