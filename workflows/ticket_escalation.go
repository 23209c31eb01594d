package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// escalate hands the ticket to the platform (平台介入): a child workflow collects
// evidence until evidence_by and waits for the arbiter until decide_by.
func (w *ticketWorkflow) escalate(ctx workflow.Context, who string, role models.Role, reason, rid string) {
	from := w.t.State
	w.t.Flags.Escalated = true
	w.transition(ctx, models.StateEscalated, who, role, models.ActEscalate, reason, rid)
	now := workflow.Now(ctx)
	e := &models.Escalation{By: role, Reason: reason, From: from,
		EvidenceBy: now.Add(w.p.EvidenceTimeout.D()), Evidence: []models.Note{}}
	e.DecideBy = e.EvidenceBy.Add(w.p.ArbiterTimeout.D())
	w.t.Escalation = e
	w.setDeadline("evidence_by", e.EvidenceBy)

	w.escalations++
	in := EscalationInput{TicketID: w.t.ID, EscalatedBy: role, From: from, EvidenceBy: e.EvidenceBy,
		DecideBy: e.DecideBy, BuyerClaimCents: w.buyerClaim()}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        fmt.Sprintf("%s-escalation-%d", TicketWorkflowID(w.t.ID), w.escalations),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	})
	child := workflow.ExecuteChildWorkflow(cctx, EscalationWorkflow, in)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		w.note(ctx, system, models.RoleSystem, "escalation_failed", err.Error(), "")
		return
	}
	w.escalationChild = child
	workflow.Go(ctx, func(ctx workflow.Context) {
		var v Verdict
		err := child.Get(ctx, &v)
		w.mu.Lock(ctx)
		defer w.mu.Unlock()
		if err != nil {
			w.note(ctx, system, models.RoleSystem, "escalation_failed", err.Error(), "")
		} else {
			w.applyVerdict(ctx, v)
		}
		w.commit(ctx)
	})
}

// buyerClaim is what the buyer still asks for: the request less what was refunded
// and what is on its way (a refund the provider has not confirmed yet).
func (w *ticketWorkflow) buyerClaim() int64 {
	c := w.t.RequestedCents - w.t.RefundedCents - w.refundInFlightCents()
	if c > 0 {
		return c
	}
	return 0
}

// refundInFlightCents sums the refunds sent (or about to be) but not settled.
func (w *ticketWorkflow) refundInFlightCents() int64 {
	var n int64
	for _, r := range w.t.Refunds {
		if r.Purpose == activities.PurposeRefund && (r.Status == models.RefundPending || r.Status == models.RefundSent) {
			n += r.AmountCents
		}
	}
	return n
}

// addEvidence records a party's evidence and forwards it to the escalation.
func (w *ticketWorkflow) addEvidence(ctx workflow.Context, req models.ActionRequest) {
	n := models.Note{Role: req.Role, At: workflow.Now(ctx), Note: req.Body.Note, URLs: req.Body.URLs}
	w.t.Escalation.Evidence = append(w.t.Escalation.Evidence, n)
	w.note(ctx, req.Actor, req.Role, req.Action, req.Body.Note, req.RequestID)
	if w.escalationChild != nil {
		_ = w.escalationChild.SignalChildWorkflow(ctx, SignalEvidence, EvidenceSignal{Role: req.Role, Note: n}).Get(ctx, nil)
	}
}

// arbitrate forwards the platform's verdict; the answer waits until it is applied.
func (w *ticketWorkflow) arbitrate(ctx workflow.Context, req models.ActionRequest) func() bool {
	v := Verdict{Verdict: req.Body.Verdict, Note: req.Body.Note, Actor: req.Actor}
	if req.Body.RefundCents != nil {
		v.RefundCents = *req.Body.RefundCents
	}
	if w.escalationChild == nil {
		w.applyVerdict(ctx, v)
		return nil
	}
	if err := w.escalationChild.SignalChildWorkflow(ctx, SignalArbitrate, v).Get(ctx, nil); err != nil {
		w.note(ctx, system, models.RoleSystem, "arbitrate_failed", err.Error(), "")
		return nil
	}
	return func() bool { return w.t.State != models.StateEscalated }
}

// applyVerdict resumes the ticket with the platform's decision.
func (w *ticketWorkflow) applyVerdict(ctx workflow.Context, v Verdict) {
	if w.t.State != models.StateEscalated {
		return
	}
	w.escalationChild = nil
	w.t.Escalation.Verdict, w.t.Escalation.RefundCents = v.Verdict, v.RefundCents
	who, role := v.Actor, models.RolePlatform
	if v.Automatic || who == "" {
		who, role = system, models.RoleSystem
	}
	note := v.Verdict
	if v.Note != "" {
		note += ": " + v.Note
	}
	if v.Automatic && v.RefundCents > w.buyerClaim() {
		// The claim was taken when the escalation started; what was refunded or
		// sent since then is not paid a second time.
		v.RefundCents = w.buyerClaim()
	}
	from := w.t.Escalation.From
	switch {
	case v.Verdict == models.VerdictSupportSeller:
		w.close(ctx, models.OutcomePlatformDeclined, who, role, models.ActArbitrate, note, "")
	case v.RefundCents > 0:
		outcome := models.OutcomeRefunded
		if v.RefundCents+w.t.RefundedCents < w.t.RequestedCents {
			outcome = models.OutcomePartiallyRefunded
		}
		w.note(ctx, who, role, models.ActArbitrate, note, "")
		w.startRefund(ctx, v.RefundCents, outcome, who, role, "")
	case w.refundInFlightCents() > 0:
		// A refund sent before the escalation is still with the provider: it
		// settles the ticket (and is sent again if it fails).
		w.note(ctx, who, role, models.ActArbitrate, note, "")
		w.pendingOutcome = models.OutcomeRefunded
		if w.t.RefundedCents+w.refundInFlightCents() < w.t.RequestedCents {
			w.pendingOutcome = models.OutcomePartiallyRefunded
		}
		w.transition(ctx, models.StateRefunding, who, role, "refund", "waiting for the refund in flight", "")
	case from == models.StateRejected && w.t.Inspection != nil:
		// The seller has the goods and failed them: the platform overrules the inspection.
		w.inspectionPassed(ctx, who, role, models.ActArbitrate, note, "")
	case from == models.StateRejected || from == models.StateNegotiating:
		// The platform orders the seller to accept the request as made.
		w.note(ctx, who, role, models.ActArbitrate, note, "")
		w.afterApproval(ctx, who, role, "")
	case w.t.RefundedCents > 0:
		w.complete(ctx, models.OutcomeRefunded, who, role, models.ActArbitrate, note, "")
	default:
		w.complete(ctx, models.OutcomeCompensated, who, role, models.ActArbitrate, note, "")
	}
}

// escalationDeadline: after evidence_by the arbiter's deadline runs; at decide_by the
// child decides for the party that answered, and the parent waits for that.
func (w *ticketWorkflow) escalationDeadline(ctx workflow.Context, name string) {
	if name == "evidence_by" && w.t.Escalation != nil {
		w.setDeadline("decide_by", w.t.Escalation.DecideBy)
		w.note(ctx, system, models.RoleSystem, "evidence_closed", "waiting for the platform's verdict", "")
		return
	}
	w.t.Deadline = nil
	w.version++
}
