package workflows

import (
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// An exchange for a variant at another price, through the interpreter: the
// difference moves as the exchange ends, to the provider under its own key.
func TestExchangeAtAnotherPrice(t *testing.T) {
	twoCups := func(c *models.CreateTicket) {
		c.Order.PaidCents, c.RequestedCents, c.ReasonCode = 5_500, 0, models.ReasonQuality
		c.Items = []models.Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1_000}}
	}
	run := func(t *testing.T, price int64, then ...step) (models.Ticket, *harness) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip, twoCups))
		steps := append([]step{
			at(time.Hour, seller("approve", models.ActionBody{ExchangeUnitCents: &price})),
			at(2*time.Hour, shipSF),
			at(3*time.Hour, courier(models.CourierDelivered)),
			at(4*time.Hour, passed),
			at(5*time.Hour, buyer("confirm_replacement")),
		}, then...)
		return h.run(steps...), h
	}
	t.Run("dearer: 5.00 charged to the buyer", func(t *testing.T) {
		tk, h := run(t, 1_250, at(6*time.Hour, payment(key(1), models.RefundSucceeded)))
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		r, _ := h.f.pay.request(key(1))
		eq(t, "charged", r.Purpose, models.PurposeExchangeCharge)
		eq(t, "amount", r.AmountCents, 500)
		eq(t, "refunded", tk.RefundedCents, 0)
		wantTimeline(t, tk, "replacement_shipped", "exchange_charge", "exchange_charge_succeeded")
	})
	t.Run("cheaper: 6.00 refunded to the buyer", func(t *testing.T) {
		tk, h := run(t, 700, at(6*time.Hour, payment(key(1), models.RefundSucceeded)))
		wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
		r, _ := h.f.pay.request(key(1))
		eq(t, "refund", r.Purpose, models.PurposeRefund)
		eq(t, "amount", r.AmountCents, 600)
		eq(t, "refunded", tk.RefundedCents, 600)
		eq(t, "lines sent", h.sentLines(key(1)), "[{CUP 600}]")
	})
}
