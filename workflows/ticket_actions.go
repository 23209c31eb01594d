package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// validateAction refuses an action before it enters the workflow's history.
func (w *ticketWorkflow) validateAction(ctx workflow.Context, req models.ActionRequest) error {
	return asApplicationError(models.CheckAction(w.t, req, w.p, workflow.Now(ctx)))
}

// handleAction applies an accepted action and returns the ticket after it.
func (w *ticketWorkflow) handleAction(ctx workflow.Context, req models.ActionRequest) (ActionResult, error) {
	if err := w.lock(ctx); err != nil {
		return ActionResult{Ticket: w.t}, err
	}
	// Another message may have moved the ticket between validation and now.
	if err := models.CheckAction(w.checkedTicket(ctx, req), req, w.p, workflow.Now(ctx)); err != nil {
		w.mu.Unlock()
		return ActionResult{Ticket: w.t}, asApplicationError(err)
	}
	w.timeFirstReply(ctx, req)
	wait := w.apply(ctx, req)
	w.commit(ctx)
	w.mu.Unlock()
	if wait != nil {
		if err := workflow.Await(ctx, wait); err != nil {
			return ActionResult{Ticket: w.t}, err
		}
		w.mu.Lock(ctx) // the change that ended the wait is committed under the lock
		w.mu.Unlock()
	}
	return ActionResult{Ticket: w.t}, nil
}

// checkedTicket is the ticket an accepted action is checked against again. A
// cancel accepted before a failed refund counted as money that may still move is
// replayed as it was then (failed refunds left out), so a live ticket keeps its
// history; later ones are checked as they stand.
func (w *ticketWorkflow) checkedTicket(ctx workflow.Context, req models.ActionRequest) models.Ticket {
	if req.Action != models.ActCancel ||
		workflow.GetVersion(ctx, "cancel-refused-while-a-failed-refund-may-pay", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		return w.t
	}
	t := w.t
	t.Refunds = nil
	for _, r := range w.t.Refunds {
		if r.Status != models.RefundFailed {
			t.Refunds = append(t.Refunds, r)
		}
	}
	return t
}

// timeFirstReply records the seller's first reply: later than reply_target counts
// against the shop's reply rate.
func (w *ticketWorkflow) timeFirstReply(ctx workflow.Context, req models.ActionRequest) {
	if req.Role != models.RoleSeller || w.t.FirstReplyAt != nil {
		return
	}
	now := workflow.Now(ctx)
	w.t.FirstReplyAt = &now
	w.t.Flags.ReplyLate = now.Sub(w.t.CreatedAt) > w.p.ReplyTarget.D()
}

// apply performs one validated action. It returns a condition to wait for before
// answering, when the result comes from elsewhere (the arbiter's verdict).
func (w *ticketWorkflow) apply(ctx workflow.Context, req models.ActionRequest) func() bool {
	b, who, role, rid := req.Body, req.Actor, req.Role, req.RequestID
	switch req.Action {
	case models.ActApprove:
		w.note(ctx, who, role, req.Action, b.Note, rid)
		w.afterApproval(ctx, who, role, rid)
	case models.ActReject:
		w.transition(ctx, models.StateRejected, who, role, req.Action, b.Reason, rid)
	case models.ActOffer:
		w.t.Offer = &models.Offer{RefundCents: *b.RefundCents, KeepItem: b.KeepItem, Note: b.Note}
		w.transition(ctx, models.StateNegotiating, who, role, req.Action, b.Note, rid)
	case models.ActAcceptOffer:
		w.acceptOffer(ctx, who, role, rid)
	case models.ActDeclineOffer:
		w.transition(ctx, models.StatePendingReview, who, role, req.Action, b.Note, rid)
	case models.ActShip:
		w.buyerShipped(ctx, req)
	case models.ActConfirmReceipt:
		w.goodsArrived(ctx, who, role, req.Action, rid)
	case models.ActInspect:
		w.inspect(ctx, req)
	case models.ActReply:
		w.note(ctx, who, role, req.Action, b.Message, rid)
	case models.ActReportDelay:
		w.reportDelay(ctx, req)
	case models.ActEscalate:
		w.escalate(ctx, who, role, b.Reason, rid)
	case models.ActEvidence:
		w.addEvidence(ctx, req)
	case models.ActArbitrate:
		return w.arbitrate(ctx, req)
	case models.ActCancel:
		w.cancelPickup(ctx)
		w.close(ctx, models.OutcomeWithdrawn, who, role, req.Action, b.Reason, rid)
	case models.ActRevise:
		if b.RequestedCents != nil {
			w.t.RequestedCents = *b.RequestedCents
		}
		if b.Reason != "" {
			w.t.Reason = b.Reason
		}
		w.t.Offer = nil
		w.transition(ctx, models.StatePendingReview, who, role, req.Action, b.Reason, rid)
	case models.ActConfirmReplacement:
		w.complete(ctx, w.replacementOutcome(), who, role, req.Action, b.Note, rid)
	case models.ActEvaluate:
		w.t.Evaluation = &models.Evaluation{Score: b.Score, Comment: b.Comment, At: workflow.Now(ctx)}
		w.note(ctx, who, role, req.Action, b.Comment, rid)
	}
	return nil
}

// acceptOffer settles the negotiation: a partial refund with the buyer keeping the
// item completes without a return; otherwise the return runs for the agreed amount.
func (w *ticketWorkflow) acceptOffer(ctx workflow.Context, who string, role models.Role, rid string) {
	o := *w.t.Offer
	w.note(ctx, who, role, models.ActAcceptOffer, o.Note, rid)
	if !o.KeepItem {
		w.t.RequestedCents = o.RefundCents
		w.afterApproval(ctx, who, role, rid)
		return
	}
	outcome := models.OutcomePartiallyRefunded
	if w.t.Kind == models.KindExchange || w.t.Kind == models.KindRepair {
		outcome = models.OutcomeCompensated
	} else if o.RefundCents >= w.t.RequestedCents {
		outcome = models.OutcomeRefunded
	}
	w.startRefund(ctx, o.RefundCents, outcome, who, role, rid)
}

// reportDelay moves the running deadline once per stage and takes the ticket out of
// the SLA assessment (延迟售后报备).
func (w *ticketWorkflow) reportDelay(ctx workflow.Context, req models.ActionRequest) {
	extend, _ := models.ParseDuration(req.Body.Extend) // checked by the validator
	w.t.DelayReports = append(w.t.DelayReports, w.t.State)
	w.t.Flags.ExcludedFromAssessment = true
	w.setDeadline(w.t.Deadline.Name, w.t.Deadline.At.Add(extend.D()))
	w.note(ctx, req.Actor, req.Role, req.Action, req.Body.Reason+" (+"+extend.String()+")", req.RequestID)
}

// asApplicationError carries a domain error across Temporal with its code as the
// error type, so the API can map it to an HTTP status.
func asApplicationError(err error) error {
	var e *models.Error
	if err == nil {
		return nil
	} else if errors.As(err, &e) {
		return temporal.NewNonRetryableApplicationError(e.Message, e.Code, nil)
	}
	return err
}
