package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// EscalationInput starts an EscalationWorkflow.
type EscalationInput struct {
	TicketID        string       `json:"ticket_id"`
	EscalatedBy     models.Role  `json:"escalated_by"`
	From            models.State `json:"from"`
	EvidenceBy      time.Time    `json:"evidence_by"`
	DecideBy        time.Time    `json:"decide_by"`
	BuyerClaimCents int64        `json:"buyer_claim_cents"`
}

// EscalationWorkflow is the platform intervention (平台介入) of one ticket: evidence
// from both parties until EvidenceBy, then the arbiter until DecideBy. Without a
// verdict by then it decides for the party that answered: only the buyer, or both,
// gives the buyer their claim (the platform protects the consumer when the seller's
// evidence goes unweighed); only the seller, or nobody, supports the seller.
func EscalationWorkflow(ctx workflow.Context, in EscalationInput) (Verdict, error) {
	evidence := workflow.GetSignalChannel(ctx, SignalEvidence)
	arbitrate := workflow.GetSignalChannel(ctx, SignalArbitrate)
	answered := map[models.Role]bool{}
	var verdict *Verdict

	for verdict == nil {
		now := workflow.Now(ctx)
		if !now.Before(in.DecideBy) {
			v := models.AutomaticVerdict(answered[models.RoleBuyer], answered[models.RoleSeller], in.BuyerClaimCents)
			verdict = &Verdict{Verdict: v.Verdict, RefundCents: v.RefundCents, Note: v.Note, Automatic: true}
			break
		}
		next := in.DecideBy
		if now.Before(in.EvidenceBy) {
			next = in.EvidenceBy
		}
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(tctx, next.Sub(now)), func(workflow.Future) {})
		sel.AddReceive(evidence, func(c workflow.ReceiveChannel, _ bool) {
			var e EvidenceSignal
			c.Receive(ctx, &e)
			answered[e.Role] = true
		})
		sel.AddReceive(arbitrate, func(c workflow.ReceiveChannel, _ bool) {
			var v Verdict
			c.Receive(ctx, &v)
			verdict = &v
		})
		sel.Select(ctx)
		cancel()
	}
	return *verdict, nil
}
