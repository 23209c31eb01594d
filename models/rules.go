package models

import "fmt"

// FastReviewDecision says whether a ticket is approved at creation (极速审核) and by
// which rule, so the decision can be audited later.
func FastReviewDecision(c CreateTicket, p Policy) (approve bool, rule string) {
	r := p.FastReview
	if !p.FastReviewOn(c.ShopID) {
		return false, ""
	}
	if c.Kind == KindRepair {
		return false, "" // a repair is never decided without the seller
	}
	amount := c.RequestedCents
	if amount == 0 {
		amount = c.Order.PaidCents
	}
	if amount > r.MaxCents || c.BuyerCredit < r.MinCredit || c.RecentReturns > r.MaxRecentReturns {
		return false, ""
	}
	return true, fmt.Sprintf("fast_review@%s: amount<=%d, credit>=%d, returns<=%d in %s",
		p.Version, r.MaxCents, r.MinCredit, r.MaxRecentReturns, r.RecentWindow)
}

// LightningEligible reports whether a return is refunded as soon as the courier picks
// it up or the tracking number is verified (闪电退款). Only refunds of returned goods
// qualify; the shop's choice (Policy.Shops) and the buyer's standing are checked.
func LightningEligible(t Ticket, p Policy, buyerFlagged bool) bool {
	r := p.LightningRefund
	return p.LightningRefundOn(t.ShopID) && t.Kind == KindReturnRefund && !buyerFlagged &&
		t.Order.PaidCents <= r.MaxCents && t.BuyerCredit >= r.MinCredit
}

// RefundAfterInspection returns the amount to refund when the seller deducts
// deductPercent as a restocking fee, or an error naming why the deduction is refused.
func RefundAfterInspection(t Ticket, p Policy, deductPercent int) (int64, error) {
	if deductPercent < 0 || deductPercent > p.RestockingFeeMaxPercent {
		return 0, Errorf(EINVALID, "deduct_percent must be between 0 and %d", p.RestockingFeeMaxPercent)
	}
	if deductPercent > 0 && t.ReasonCode.SellerFault() {
		return 0, Errorf(EINVALID, "a restocking fee is only allowed when the buyer is at fault; reason %s is the seller's", t.ReasonCode)
	}
	return t.RequestedCents - t.RequestedCents*int64(deductPercent)/100, nil
}

// ShippingCompensation returns the delayed-shipment compensation (延迟发货赔付) for an
// order paid paidCents.
func ShippingCompensation(paidCents int64, selfOperated bool, r CompensationRule) int64 {
	if selfOperated {
		return r.SelfOperatedCents
	}
	c := paidCents * int64(r.Percent) / 100
	if c > r.CapCents {
		c = r.CapCents
	}
	return c
}

// RefundKey is the idempotency key of the n-th money movement of a ticket.
func RefundKey(ticketID string, n int) string { return fmt.Sprintf("%s:refund:%d", ticketID, n) }
