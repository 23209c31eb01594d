package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// startRefund moves the ticket to refunding and pays amount; the ticket completes with
// outcome once the provider confirms.
func (w *ticketWorkflow) startRefund(ctx workflow.Context, amount int64, outcome models.Outcome, who string, role models.Role, rid string) {
	w.pendingOutcome = outcome
	w.transition(ctx, models.StateRefunding, who, role, "refund", fmt.Sprintf("%d cents", amount), rid)
	w.sendMoney(ctx, activities.PurposeRefund, amount)
}

// sendMoney records the next money movement of the ticket under a fresh key and pays
// it through the ledger, which refuses anything past what the order paid.
func (w *ticketWorkflow) sendMoney(ctx workflow.Context, purpose string, amount int64) {
	key := models.RefundKey(w.t.ID, len(w.t.Refunds)+1)
	w.t.Refunds = append(w.t.Refunds, models.Refund{Key: key, AmountCents: amount, Purpose: purpose, Status: models.RefundPending})
	req := activities.MoneyRequest{Key: key, Purpose: purpose, TicketID: w.t.ID, OrderID: w.t.OrderID,
		AmountCents: amount, Currency: w.t.Currency, PaidCents: w.t.Order.PaidCents}
	var r activities.Receipt
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	if err := workflow.ExecuteActivity(actx, acts.MoveMoney, req).Get(actx, &r); err != nil {
		r = activities.Receipt{Key: key, Status: models.RefundFailed, Reason: err.Error()}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == models.ECONFLICT {
			// The ledger refused (the order's refunds would pass what was paid):
			// sending again cannot help, so the platform decides at once.
			r.Reason, w.ledgerRefused = appErr.Message(), true
		}
	}
	w.moneyResult(ctx, r)
	w.ledgerRefused = false
}

// onPaymentEvent applies the provider's webhook to the refund it names.
func (w *ticketWorkflow) onPaymentEvent(ctx workflow.Context, ev models.PaymentEvent) {
	i := w.refundIndex(ev.RefundKey)
	if i < 0 || w.t.Refunds[i].Status == models.RefundSucceeded || w.t.Refunds[i].Status == ev.Status {
		return // unknown key, or already known: nothing changes
	}
	r := activities.Receipt{Key: ev.RefundKey, Status: ev.Status, ProviderRef: ev.ProviderRef, Reason: ev.Reason}
	actx := workflow.WithActivityOptions(ctx, projectionOptions)
	if err := workflow.ExecuteActivity(actx, acts.RecordMoney, r).Get(actx, &r); err != nil {
		workflow.GetLogger(ctx).Error("ledger not updated", "key", ev.RefundKey, "error", err)
	}
	w.moneyResult(ctx, r)
}

// moneyResult records a provider answer and moves the ticket on when it settles.
func (w *ticketWorkflow) moneyResult(ctx workflow.Context, r activities.Receipt) {
	i := w.refundIndex(r.Key)
	if i < 0 || r.Status == "" || r.Status == w.t.Refunds[i].Status {
		return
	}
	ref := &w.t.Refunds[i]
	if ref.Status == models.RefundSucceeded {
		return // final: a late failure report cannot undo a payment
	}
	ref.Status, ref.ProviderRef = r.Status, r.ProviderRef
	switch r.Status {
	case models.RefundSucceeded:
		if ref.Purpose == activities.PurposeRefund {
			w.t.RefundedCents += ref.AmountCents
		}
		w.note(ctx, system, models.RoleSystem, ref.Purpose+"_succeeded", fmt.Sprintf("%s %d cents", ref.Key, ref.AmountCents), "")
		w.moneySucceeded(ctx, *ref)
	case models.RefundFailed:
		w.note(ctx, system, models.RoleSystem, ref.Purpose+"_failed", ref.Key+": "+r.Reason, "")
		w.moneyFailed(ctx, *ref, r.Reason)
	default:
		w.note(ctx, system, models.RoleSystem, ref.Purpose+"_sent", ref.Key, "")
	}
}

func (w *ticketWorkflow) moneySucceeded(ctx workflow.Context, ref models.Refund) {
	switch {
	case ref.Purpose == activities.PurposeRecovery && w.t.State == models.StateRecovering:
		w.close(ctx, models.OutcomeRecovered, system, models.RoleSystem, "recovered", ref.Key, "")
	case ref.Purpose == activities.PurposeRecovery:
		// The goods arrived while the charge was with the provider: the buyer keeps
		// the refund, so the charge is paid back.
		w.note(ctx, system, models.RoleSystem, "return_recovery", "goods arrived; "+ref.Key+" paid back", "")
		w.sendMoney(ctx, activities.PurposeRecoveryReturn, ref.AmountCents)
	case w.t.State == models.StateRefunding && w.refundsSettled():
		w.complete(ctx, w.pendingOutcome, system, models.RoleSystem, "refund_paid", ref.Key, "")
	}
}

// moneyFailed sends a failed refund again under a new key until refund_attempts is
// used up, then asks the platform to intervene instead of stopping silently.
func (w *ticketWorkflow) moneyFailed(ctx workflow.Context, ref models.Refund, reason string) {
	if ref.Purpose != activities.PurposeRefund {
		return
	}
	if w.t.State == models.StateInTransit && w.t.Flags.LightningRefund {
		w.t.Flags.LightningRefund = false // the return goes on; inspection decides
		return
	}
	if w.t.State != models.StateRefunding {
		return
	}
	if w.failedRefunds() < w.p.RefundAttempts && !w.ledgerRefused {
		w.sendMoney(ctx, activities.PurposeRefund, ref.AmountCents)
		return
	}
	w.escalate(ctx, system, models.RoleSystem, fmt.Sprintf("refund failed %d times: %s", w.failedRefunds(), reason), "")
}

// forceRefund: refund_by passed. The platform forces the refund and records the
// seller's breach: the last refund is reconciled by key, and paid again only if the
// provider never saw it. A second miss goes to the platform.
func (w *ticketWorkflow) forceRefund(ctx workflow.Context, why string) {
	if w.t.Flags.SellerBreach {
		w.escalate(ctx, system, models.RoleSystem, "refund still not confirmed: "+why, "")
		return
	}
	w.t.Flags.SellerBreach = true
	w.transition(ctx, models.StateRefunding, system, models.RoleSystem, "force_refund", why, "")
	for i := range w.t.Refunds {
		ref := w.t.Refunds[i]
		if ref.Purpose != activities.PurposeRefund || ref.Status == models.RefundSucceeded || ref.Status == models.RefundFailed {
			continue
		}
		var r activities.Receipt
		actx := workflow.WithActivityOptions(ctx, providerOptions)
		req := activities.MoneyRequest{Key: ref.Key, Purpose: ref.Purpose, TicketID: w.t.ID, OrderID: w.t.OrderID,
			AmountCents: ref.AmountCents, Currency: w.t.Currency, PaidCents: w.t.Order.PaidCents}
		if err := workflow.ExecuteActivity(actx, acts.MoveMoney, req).Get(actx, &r); err == nil {
			w.moneyResult(ctx, r)
		}
	}
	if w.t.State == models.StateRefunding && w.refundsSettled() {
		w.complete(ctx, w.pendingOutcome, system, models.RoleSystem, "refund_paid", "", "")
	}
}

// lightningRefund pays an eligible return as soon as the goods are on their way (闪电退款).
func (w *ticketWorkflow) lightningRefund(ctx workflow.Context) {
	if w.t.Flags.LightningRefund || w.moneyInFlight() || !models.LightningEligible(w.t, w.p, w.in.BuyerFlagged) {
		return
	}
	w.t.Flags.LightningRefund = true
	w.note(ctx, system, models.RoleSystem, "lightning_refund", fmt.Sprintf("%d cents before arrival", w.t.RequestedCents), "")
	w.sendMoney(ctx, activities.PurposeRefund, w.t.RequestedCents)
}

// startRecovery: a lightning refund was paid but the goods never arrived (闪电催收).
func (w *ticketWorkflow) startRecovery(ctx workflow.Context, why string) {
	w.transition(ctx, models.StateRecovering, system, models.RoleSystem, "start_recovery", why, "")
	w.sendMoney(ctx, activities.PurposeRecovery, w.t.RequestedCents)
}

func (w *ticketWorkflow) refundIndex(key string) int {
	for i, r := range w.t.Refunds {
		if r.Key == key {
			return i
		}
	}
	return -1
}

// refundsSettled: at least one refund succeeded and none is still in flight.
func (w *ticketWorkflow) refundsSettled() bool {
	paid := false
	for _, r := range w.t.Refunds {
		if r.Purpose != activities.PurposeRefund {
			continue
		}
		if r.Status == models.RefundPending || r.Status == models.RefundSent {
			return false
		}
		paid = paid || r.Status == models.RefundSucceeded
	}
	return paid
}

func (w *ticketWorkflow) moneyInFlight() bool {
	for _, r := range w.t.Refunds {
		if r.Status == models.RefundPending || r.Status == models.RefundSent {
			return true
		}
	}
	return false
}

// lightningPaid: a lightning refund was paid (the provider confirmed it), so there is
// money to recover. A refund still in flight is not charged back (DESIGN §2 in_transit).
func (w *ticketWorkflow) lightningPaid() bool {
	if !w.t.Flags.LightningRefund {
		return false
	}
	for _, r := range w.t.Refunds {
		if r.Purpose == activities.PurposeRefund && r.Status == models.RefundSucceeded {
			return true
		}
	}
	return false
}

func (w *ticketWorkflow) failedRefunds() int {
	n := 0
	for _, r := range w.t.Refunds {
		if r.Purpose == activities.PurposeRefund && r.Status == models.RefundFailed {
			n++
		}
	}
	return n
}
