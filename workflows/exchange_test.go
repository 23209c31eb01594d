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
	for _, tc := range []struct {
		name     string
		price    int64
		purpose  models.Purpose
		amount   int64
		refunded int64
		lines    string // the lines the provider received
	}{
		{"dearer: 5.00 charged to the buyer", 1_250, models.PurposeExchangeCharge, 500, 0, "[]"},
		{"cheaper: 6.00 refunded to the buyer", 700, models.PurposeRefund, 600, 600, "[{CUP 600}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, h := run(t, tc.price, at(6*time.Hour, payment(key(1), models.RefundSucceeded)))
			wantEnd(t, tk, models.StateCompleted, models.OutcomeExchanged)
			r, _ := h.f.pay.request(key(1))
			eq(t, "purpose", r.Purpose, tc.purpose)
			eq(t, "amount", r.AmountCents, tc.amount)
			eq(t, "refunded", tk.RefundedCents, tc.refunded)
			eq(t, "lines sent", h.sentLines(key(1)), tc.lines)
		})
	}
}
