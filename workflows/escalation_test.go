package workflows

import (
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// toEscalated: the seller rejects a 1000 CNY refund at 1 h, the buyer escalates at
// 2 h; evidence_by is 2 h + 72 h, decide_by 48 h later.
var toEscalated = []step{
	at(time.Hour, seller("reject", models.ActionBody{Reason: "no proof"})),
	at(2*time.Hour, buyer("escalate", models.ActionBody{Reason: "the seller ignores the photos"})),
	at(3*time.Hour, inState(models.StateEscalated), deadlineAt("evidence_by", 74*time.Hour),
		check(func(t *testing.T, tk models.Ticket) {
			e := tk.Escalation
			if e == nil {
				t.Fatalf("no escalation record")
			}
			eq(t, "evidence_by", e.EvidenceBy, t0.Add(74*time.Hour))
			eq(t, "decide_by", e.DecideBy, t0.Add(122*time.Hour))
			eq(t, "escalated flag", tk.Flags.Escalated, true)
		})),
}

const (
	evidenceBy = 74 * time.Hour
	decideBy   = 122 * time.Hour
)

func evidence(o actionOp) actionOp {
	o.req.Action = models.ActEvidence
	if o.req.Body.Note == "" {
		o.req.Body.Note = "see attached"
		o.req.Body.URLs = []string{"https://img.example/1.jpg"}
	}
	return o
}

func verdict(v string, cents *int64) actionOp {
	return platform("arbitrate", models.ActionBody{Verdict: v, RefundCents: cents, Note: "decided"})
}

// escalated: evidence, then the platform's verdict; at decide_by the verdict goes
// to the party that answered.
func TestEscalated(t *testing.T) {
	cases := []struct {
		name     string
		steps    []step
		end      models.State
		out      models.Outcome
		refunded int64
		verdict  string
	}{
		{
			name: "support_buyer with an amount refunds it",
			steps: []step{
				at(4*time.Hour, evidence(buyer(""))),
				at(5*time.Hour, evidence(seller(""))),
				at(6*time.Hour, verdict(models.VerdictSupportBuyer, i64(60_000)).returning(func(t *testing.T, tk models.Ticket) {
					eq(t, "state answered", tk.State, models.StateRefunding)
				})),
				at(7*time.Hour, inState(models.StateRefunding)),
				at(8*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomePartiallyRefunded, refunded: 60_000, verdict: models.VerdictSupportBuyer,
		},
		{
			name: "support_buyer in full, after evidence closed",
			steps: []step{
				at(evidenceBy+sec, deadlineAt("decide_by", decideBy), check(func(t *testing.T, tk models.Ticket) {
					wantTimeline(t, tk, "escalate", "evidence_closed")
				})),
				at(evidenceBy+time.Hour, evidence(buyer("")).refused(models.ECONFLICT)),
				at(evidenceBy+2*time.Hour, verdict(models.VerdictSupportBuyer, i64(100_000))),
				at(evidenceBy+3*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded, refunded: 100_000, verdict: models.VerdictSupportBuyer,
		},
		{
			name: "support_seller closes the ticket",
			steps: []step{
				at(4*time.Hour, verdict(models.VerdictSupportSeller, nil)),
			},
			end: models.StateClosed, out: models.OutcomePlatformDeclined, verdict: models.VerdictSupportSeller,
		},
		{
			name: "decide_by with only the buyer's evidence: the buyer wins",
			steps: []step{
				at(4*time.Hour, evidence(buyer(""))),
				at(decideBy-sec, inState(models.StateEscalated)),
				at(decideBy+sec, inState(models.StateRefunding)),
				at(decideBy+time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded, refunded: 100_000, verdict: models.VerdictSupportBuyer,
		},
		{
			name: "decide_by with evidence from both: the buyer wins",
			steps: []step{
				at(4*time.Hour, evidence(seller(""))),
				at(5*time.Hour, evidence(buyer(""))),
				at(decideBy+time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded, refunded: 100_000, verdict: models.VerdictSupportBuyer,
		},
		{
			name: "decide_by with only the seller's evidence: the seller wins",
			steps: []step{
				at(4*time.Hour, evidence(seller(""))),
				at(decideBy+sec, inState(models.StateClosed, models.OutcomePlatformDeclined)),
			},
			end: models.StateClosed, out: models.OutcomePlatformDeclined, verdict: models.VerdictSupportSeller,
		},
		{
			name: "decide_by with nobody's evidence: the seller wins",
			steps: []step{
				at(decideBy+sec, inState(models.StateClosed, models.OutcomePlatformDeclined)),
			},
			end: models.StateClosed, out: models.OutcomePlatformDeclined, verdict: models.VerdictSupportSeller,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone))
			tk := h.run(append(append([]step{}, toEscalated...), c.steps...)...)
			wantEnd(t, tk, c.end, c.out)
			eq(t, "refunded", tk.RefundedCents, c.refunded)
			eq(t, "verdict", tk.Escalation.Verdict, c.verdict)
			eq(t, "escalated flag", tk.Flags.Escalated, true)
			if c.refunded > 0 {
				wantRefunds(t, tk, refundLine(1, "refund", c.refunded, "succeeded"))
			}
		})
	}
}

// The verdict's parameters and who may give it.
func TestEscalationRefusals(t *testing.T) {
	tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(append(append([]step{}, toEscalated...),
		at(4*time.Hour, seller("arbitrate", models.ActionBody{Verdict: models.VerdictSupportSeller}).refused(models.EFORBIDDEN)),
		at(4*time.Hour+time.Minute, buyer("arbitrate", models.ActionBody{Verdict: models.VerdictSupportBuyer, RefundCents: i64(1)}).refused(models.EFORBIDDEN)),
		at(4*time.Hour+2*time.Minute, verdict("split", nil).refused(models.EINVALID)),
		at(4*time.Hour+3*time.Minute, verdict(models.VerdictSupportBuyer, nil).refused(models.EINVALID)),
		at(4*time.Hour+4*time.Minute, verdict(models.VerdictSupportBuyer, i64(100_001)).refused(models.EINVALID)),
		at(4*time.Hour+5*time.Minute, buyer("evidence", models.ActionBody{}).refused(models.EINVALID)),
		at(4*time.Hour+6*time.Minute, buyer("escalate", models.ActionBody{Reason: "again"}).refused(models.ECONFLICT)),
		at(4*time.Hour+7*time.Minute, act(models.RoleBuyer, "buyer-2", "evidence", models.ActionBody{Note: "x"}).refused(models.EFORBIDDEN)),
		at(5*time.Hour, verdict(models.VerdictSupportSeller, nil)),
		at(6*time.Hour, verdict(models.VerdictSupportBuyer, i64(1)).refused(models.ECONFLICT)),
	)...)
	wantEnd(t, tk, models.StateClosed, models.OutcomePlatformDeclined)
}

// Escalation from negotiating: support_buyer without an amount orders the seller to
// accept the request as made.
func TestEscalationFromNegotiating(t *testing.T) {
	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
	tk := h.run(
		at(time.Hour, seller("offer", models.ActionBody{RefundCents: i64(10_000), KeepItem: true})),
		at(2*time.Hour, seller("escalate", models.ActionBody{Reason: "buyer will not answer"})),
		at(3*time.Hour, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
			eq(t, "from", tk.Escalation.From, models.StateNegotiating)
			eq(t, "by", tk.Escalation.By, models.RoleSeller)
		})),
		at(4*time.Hour, verdict(models.VerdictSupportBuyer, i64(0))),
		at(5*time.Hour, inState(models.StateAwaitingPickup)),
		at(6*time.Hour, courier(models.CourierPickedUp)),
		at(7*time.Hour, courier(models.CourierDelivered)),
		at(8*time.Hour, passed),
		at(9*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	eq(t, "refunded", tk.RefundedCents, 100_000)
	eq(t, "pickups", h.f.courier.counts().pickups, 1)
}

// refund_by passed twice with the refund still at the provider: the ticket is
// escalated. The automatic verdict for the buyer must not pay the claim a second
// time (the refund in flight already covers it); the ticket completes when that
// refund is confirmed.
func TestEscalationWithRefundInFlight(t *testing.T) {
	steps := func(extra ...step) []step {
		return append([]step{
			at(time.Hour, approve),
			at(97*time.Hour+sec, inState(models.StateEscalated), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "seller_breach", tk.Flags.SellerBreach, true)
				wantRefunds(t, tk, refundLine(1, "refund", 50_000, "sent"))
			})),
			at(98*time.Hour, buyer("evidence", models.ActionBody{Note: "still no money"})),
		}, extra...)
	}
	const decide = 97*time.Hour + 120*time.Hour
	t.Run("confirmed after the verdict", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(50_000)))
		tk := h.run(steps(
			at(decide+sec, inState(models.StateRefunding)),
			at(decide+time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 50_000)
		wantRefunds(t, tk, refundLine(1, "refund", 50_000, "succeeded"))
		eq(t, "verdict", tk.Escalation.Verdict, models.VerdictSupportBuyer)
	})
	t.Run("confirmed during the escalation", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(50_000))).run(steps(
			at(100*time.Hour, payment(key(1), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 50_000)
		wantRefunds(t, tk, refundLine(1, "refund", 50_000, "succeeded"))
	})
	t.Run("failed after the verdict: sent again", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, asking(50_000)))
		tk := h.run(steps(
			at(decide+time.Hour, payment(key(1), models.RefundFailed)),
			at(decide+2*time.Hour, payment(key(2), models.RefundSucceeded)),
		)...)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 50_000)
		wantRefunds(t, tk, refundLine(1, "refund", 50_000, "void"), refundLine(2, "refund", 50_000, "succeeded"))
	})
}
