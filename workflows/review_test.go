package workflows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/models"
)

// pending_review: approve, reject, and auto-approve at review_by (48 h).
func TestPendingReview(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		end   models.State
		out   models.Outcome
		check func(t *testing.T, tk models.Ticket)
	}{
		{
			name: "approve starts the refund",
			steps: []step{
				at(time.Hour, inState(models.StatePendingReview), deadlineAt("review_by", 48*time.Hour)),
				at(2*time.Hour, seller("approve")),
				at(3*time.Hour, inState(models.StateRefunding)),
				at(4*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded,
			check: func(t *testing.T, tk models.Ticket) {
				eq(t, "auto_acted", tk.Flags.AutoActed, false)
				eq(t, "refunded_cents", tk.RefundedCents, 100_000)
				wantTimeline(t, tk, "create", "approve", "refund", "refund_sent", "refund_succeeded", "refund_paid")
			},
		},
		{
			name: "reject waits for the appeal",
			steps: []step{
				at(2*time.Hour, seller("reject", models.ActionBody{Reason: "used item"})),
				at(3*time.Hour, inState(models.StateRejected), deadlineAt("appeal_by", 2*time.Hour+7*day)),
			},
			end: models.StateClosed, out: models.OutcomeRejected,
			check: func(t *testing.T, tk models.Ticket) { wantTimeline(t, tk, "create", "reject", "expire") },
		},
		{
			name: "review_by passes: the platform approves",
			steps: []step{
				at(48*time.Hour-sec, inState(models.StatePendingReview)),
				at(48*time.Hour+sec, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
					eq(t, "auto_acted", tk.Flags.AutoActed, true)
					wantTimeline(t, tk, "create", "auto_approve", "refund")
				})),
				at(49*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded,
		},
		{
			name: "review_by passes for an amount over the fast-review limit even with good credit",
			steps: []step{
				at(time.Hour, inState(models.StatePendingReview)),
				at(48*time.Hour+sec, inState(models.StateRefunding)),
				at(49*time.Hour, payment(key(1), models.RefundSucceeded)),
			},
			end: models.StateCompleted, out: models.OutcomeRefunded,
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := []createOpt{}
			if i == 3 {
				opts = append(opts, credit(5), asking(60_000)) // over 500 CNY: no fast review
			}
			tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, opts...)).run(c.steps...)
			wantEnd(t, tk, c.end, c.out)
			eq(t, "fast_reviewed", tk.Flags.FastReviewed, false)
			if c.check != nil {
				c.check(t, tk)
			}
		})
	}
}

// Fast review (极速审核) approves at creation and records the rule it used.
func TestFastReview(t *testing.T) {
	t.Run("approved at creation", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, credit(2), asking(50_000)))
		tk := h.run(
			at(sec, inState(models.StateRefunding), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "fast_reviewed", tk.Flags.FastReviewed, true)
				if !strings.HasPrefix(tk.FastReviewRule, "fast_review@builtin-1") {
					t.Errorf("fast_review_rule %q does not name the rule version", tk.FastReviewRule)
				}
				wantTimeline(t, tk, "create", "fast_review", "refund")
				if e := tk.Timeline[1]; e.Action != "fast_review" || e.Note != tk.FastReviewRule || !e.At.Equal(t0) {
					t.Errorf("fast review event %+v, want the rule at creation", e)
				}
			})),
			at(time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "policy_version", tk.PolicyVersion, "builtin-1")
		eq(t, "auto_acted", tk.Flags.AutoActed, false)
	})
	refusals := []struct {
		name string
		c    models.CreateTicket
	}{
		{"amount over the limit", newCreate(models.KindRefundOnly, models.ReturnNone, credit(5), asking(50_001))},
		{"credit under the minimum", newCreate(models.KindRefundOnly, models.ReturnNone, credit(1), asking(100))},
		{"too many recent returns", newCreate(models.KindRefundOnly, models.ReturnNone, credit(5), asking(100), recentReturns(4))},
		{"repairs always need the seller", newCreate(models.KindRepair, models.ReturnSelfShip, credit(5), paid(100))},
	}
	for _, c := range refusals {
		t.Run("not for "+c.name, func(t *testing.T) {
			tk := newHarness(t, c.c).run(
				at(sec, inState(models.StatePendingReview)),
				at(time.Hour, check(func(t *testing.T, tk models.Ticket) {
					eq(t, "fast_reviewed", tk.Flags.FastReviewed, false)
					eq(t, "fast_review_rule", tk.FastReviewRule, "")
				})),
				at(2*time.Hour, buyer("cancel", models.ActionBody{Reason: "test over"})),
			)
			wantEnd(t, tk, models.StateClosed, models.OutcomeWithdrawn)
		})
	}
	t.Run("return with pickup goes straight to the courier", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup, lightning()))
		h.run(
			at(sec, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "fast_reviewed", tk.Flags.FastReviewed, true)
				eq(t, "pickup booking", tk.Logistics.PickupBooking, "pickup-T1-1")
			})),
			at(time.Hour, buyer("cancel")),
		)
	})
}

// negotiating: accept with keep_item (partial refund, no return), accept without
// keep (the return runs for the agreed amount), decline, and offer_response_by (72 h).
func TestNegotiating(t *testing.T) {
	offer := func(cents int64, keep bool) actionOp {
		return seller("offer", models.ActionBody{RefundCents: i64(cents), KeepItem: keep, Note: "keep it, 30% back"})
	}
	t.Run("accept keeping the item: partial refund", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		tk := h.run(
			at(time.Hour, offer(30_000, true)),
			at(2*time.Hour, inState(models.StateNegotiating), deadlineAt("offer_response_by", time.Hour+72*time.Hour)),
			at(3*time.Hour, buyer("accept_offer")),
			at(4*time.Hour, inState(models.StateRefunding)),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomePartiallyRefunded)
		eq(t, "refunded", tk.RefundedCents, 30_000)
		wantRefunds(t, tk, refundLine(1, "refund", 30_000, "succeeded"))
		eq(t, "pickups booked", h.f.courier.counts().pickups, 0)
		wantTimeline(t, tk, "create", "offer", "accept_offer", "refund", "refund_paid")
	})
	t.Run("accept keeping the item of an exchange: compensated", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindExchange, models.ReturnSelfShip))
		tk := h.run(
			at(time.Hour, offer(10_000, true)),
			at(3*time.Hour, buyer("accept_offer")),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeCompensated)
		eq(t, "refunded", tk.RefundedCents, 10_000)
	})
	t.Run("accept without keeping: the return runs for the offer", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
		tk := h.run(
			at(time.Hour, offer(80_000, false)),
			at(3*time.Hour, buyer("accept_offer")),
			at(4*time.Hour, inState(models.StateAwaitingPickup), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "requested_cents", tk.RequestedCents, 80_000)
			})),
			at(5*time.Hour, courier(models.CourierPickedUp)),
			at(6*time.Hour, courier(models.CourierDelivered)),
			at(7*time.Hour, seller("inspect", models.ActionBody{Result: models.InspectPass})),
			at(8*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 80_000)
		eq(t, "pickups booked", h.f.courier.counts().pickups, 1)
	})
	t.Run("decline goes back to review", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, offer(30_000, true)),
			at(2*time.Hour, buyer("decline_offer", models.ActionBody{Note: "no"})),
			at(3*time.Hour, inState(models.StatePendingReview), deadlineAt("review_by", 2*time.Hour+48*time.Hour)),
			at(4*time.Hour, seller("approve")),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 100_000)
		wantTimeline(t, tk, "offer", "decline_offer", "approve", "refund_paid")
	})
	t.Run("offer_response_by passes: expired", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, offer(30_000, true)),
			at(time.Hour+72*time.Hour-sec, inState(models.StateNegotiating)),
			at(time.Hour+72*time.Hour+sec, inState(models.StateClosed, models.OutcomeExpired)),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomeExpired)
		eq(t, "auto_acted", tk.Flags.AutoActed, true)
		eq(t, "refunds", len(tk.Refunds), 0)
	})
	t.Run("offer is refused above what was paid", func(t *testing.T) {
		newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, offer(100_001, true).refused(models.EINVALID)),
			at(2*time.Hour, seller("offer", models.ActionBody{}).refused(models.EINVALID)),
			at(3*time.Hour, buyer("accept_offer").refused(models.ECONFLICT)),
			at(4*time.Hour, buyer("cancel")),
		)
	})
}

// rejected: revise (back to review), escalate, and appeal_by (7 d).
func TestRejected(t *testing.T) {
	reject := seller("reject", models.ActionBody{Reason: "item was used"})
	t.Run("revise goes back to review with the new amount", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, reject),
			at(2*time.Hour, buyer("revise", models.ActionBody{RequestedCents: i64(40_000), Reason: "half then"})),
			at(3*time.Hour, inState(models.StatePendingReview), deadlineAt("review_by", 50*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "requested", tk.RequestedCents, 40_000)
					eq(t, "reason", tk.Reason, "half then")
				})),
			at(4*time.Hour, seller("approve")),
			at(5*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "refunded", tk.RefundedCents, 40_000)
	})
	t.Run("revise is refused above what was paid", func(t *testing.T) {
		newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, reject),
			at(2*time.Hour, buyer("revise", models.ActionBody{RequestedCents: i64(100_001)}).refused(models.EINVALID)),
			at(3*time.Hour, seller("revise").refused(models.EFORBIDDEN)),
		)
	})
	t.Run("escalate hands the ticket to the platform", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, reject),
			at(2*time.Hour, buyer("escalate", models.ActionBody{Reason: "the item was new"})),
			at(3*time.Hour, inState(models.StateEscalated), deadlineAt("evidence_by", 2*time.Hour+72*time.Hour),
				check(func(t *testing.T, tk models.Ticket) {
					eq(t, "escalated", tk.Flags.Escalated, true)
					eq(t, "escalation from", tk.Escalation.From, models.StateRejected)
					eq(t, "escalation by", tk.Escalation.By, models.RoleBuyer)
				})),
			at(4*time.Hour, platform("arbitrate", models.ActionBody{Verdict: models.VerdictSupportSeller})),
		)
		wantEnd(t, tk, models.StateClosed, models.OutcomePlatformDeclined)
	})
	t.Run("appeal_by passes: closed rejected", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, reject),
			at(time.Hour+7*day-sec, inState(models.StateRejected)),
			at(time.Hour+7*day+sec, inState(models.StateClosed, models.OutcomeRejected)),
		)
		eq(t, "auto_acted", tk.Flags.AutoActed, true)
		wantEnd(t, tk, models.StateClosed, models.OutcomeRejected)
	})
}

// The first seller reply is timed against reply_target (3 h).
func TestFirstReply(t *testing.T) {
	cases := []struct {
		name string
		at   time.Duration
		op   actionOp
		late bool
	}{
		{"reply within 3h", 2 * time.Hour, seller("reply", models.ActionBody{Message: "looking"}), false},
		{"reply after 3h", 3*time.Hour + time.Minute, seller("reply", models.ActionBody{Message: "looking"}), true},
		{"approve after 3h counts as the reply", 5 * time.Hour, seller("approve"), true},
		{"approve at once", time.Minute, seller("approve"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
				at(time.Minute/2, buyer("reply").refused(models.EFORBIDDEN)), // buyers do not reply
				at(c.at, c.op),
				at(c.at+time.Hour, check(func(t *testing.T, tk models.Ticket) {
					if tk.FirstReplyAt == nil || !tk.FirstReplyAt.Equal(t0.Add(c.at)) {
						t.Errorf("first_reply_at %v, want t0+%s", tk.FirstReplyAt, c.at)
					}
					eq(t, "reply_late", tk.Flags.ReplyLate, c.late)
				})),
				// A later seller action does not move the first reply.
				at(c.at+2*time.Hour, seller("reply", models.ActionBody{Message: "again"})),
				at(c.at+3*time.Hour, buyer("cancel").refused(ifMoneyMoved(c.op))),
				// An approved refund is paid; the ticket ends once it is.
				at(c.at+4*time.Hour, payment(key(1), models.RefundSucceeded)),
			)
			if tk.FirstReplyAt == nil || !tk.FirstReplyAt.Equal(t0.Add(c.at)) {
				t.Errorf("first_reply_at %v, want t0+%s", tk.FirstReplyAt, c.at)
			}
			eq(t, "reply_late", tk.Flags.ReplyLate, c.late)
		})
	}
	t.Run("no reply at all is not late by itself", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(5*time.Hour, buyer("cancel")))
		eq(t, "reply_late", tk.Flags.ReplyLate, false)
		if tk.FirstReplyAt != nil {
			t.Errorf("first_reply_at %v without a seller action", tk.FirstReplyAt)
		}
	})
}

// ifMoneyMoved: cancel is refused (conflict) once an approved refund_only ticket sent
// its refund; after a mere reply it is accepted.
func ifMoneyMoved(o actionOp) string {
	if o.req.Action == models.ActApprove {
		return models.ECONFLICT
	}
	return ""
}

// Delay report (延迟售后报备): moves the running deadline by at most delay_report_max,
// once per state, and takes the ticket out of the assessment.
func TestDelayReport(t *testing.T) {
	delay := func(extend string) actionOp {
		return seller("report_delay", models.ActionBody{Reason: "warehouse closed for the holiday", Extend: extend})
	}
	t.Run("moves review_by once", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone)).run(
			at(time.Hour, delay("73h").refused(models.EINVALID)), // more than delay_report_max
			at(time.Hour+time.Minute, delay("").refused(models.EINVALID)),
			at(time.Hour+2*time.Minute, seller("report_delay", models.ActionBody{Extend: "24h"}).refused(models.EINVALID)),
			at(2*time.Hour, delay("24h").returning(func(t *testing.T, tk models.Ticket) {
				eq(t, "excluded_from_assessment", tk.Flags.ExcludedFromAssessment, true)
			})),
			at(3*time.Hour, deadlineAt("review_by", 72*time.Hour), check(func(t *testing.T, tk models.Ticket) {
				eq(t, "excluded_from_assessment", tk.Flags.ExcludedFromAssessment, true)
			})),
			at(4*time.Hour, delay("1h").refused(models.ECONFLICT)), // once per stage
			at(48*time.Hour+sec, inState(models.StatePendingReview)),
			at(72*time.Hour-sec, inState(models.StatePendingReview)),
			at(72*time.Hour+sec, inState(models.StateRefunding)),
			at(73*time.Hour, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		eq(t, "excluded_from_assessment", tk.Flags.ExcludedFromAssessment, true)
		eq(t, "auto_acted", tk.Flags.AutoActed, true)
	})
	t.Run("the full 72h is allowed, and again in the next stage", func(t *testing.T) {
		tk := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, delay("3d")),
			at(2*time.Hour, deadlineAt("review_by", 48*time.Hour+72*time.Hour)),
			at(3*time.Hour, seller("approve")),
			at(4*time.Hour, buyer("ship", models.ActionBody{Carrier: "SF", TrackingNo: "SF100"})),
			at(5*time.Hour, courier(models.CourierDelivered)),
			at(6*time.Hour, inState(models.StateAwaitingInspection), deadlineAt("inspect_by", 5*time.Hour+10*day)),
			at(7*time.Hour, delay("48h")),
			at(8*time.Hour, deadlineAt("inspect_by", 5*time.Hour+10*day+48*time.Hour)),
			at(5*time.Hour+10*day+sec, inState(models.StateAwaitingInspection)),
			at(5*time.Hour+12*day+sec, inState(models.StateRefunding)),
			at(5*time.Hour+13*day, payment(key(1), models.RefundSucceeded)),
		)
		wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
		if len(tk.DelayReports) != 2 {
			t.Errorf("delay_reports %v, want one per stage", tk.DelayReports)
		}
	})
	t.Run("not in a state without a delay report", func(t *testing.T) {
		newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip)).run(
			at(time.Hour, seller("approve")),
			at(2*time.Hour, delay("24h").refused(models.ECONFLICT)), // awaiting_buyer_shipment
			at(3*time.Hour, buyer("report_delay", models.ActionBody{Reason: "x", Extend: "1h"}).refused(models.EFORBIDDEN)),
			at(4*time.Hour, buyer("cancel")),
		)
	})
}

// A ticket keeps the policy it started under: its version, and its durations.
func TestPolicyVersion(t *testing.T) {
	p := harnessPolicy()
	p.Version = "2026-11-a"
	p.ReviewTimeout = models.Duration(24 * time.Hour)
	p.FastReview.MaxCents = 1_000
	tk := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, credit(5), asking(2_000)), withPolicy(p)).run(
		at(time.Hour, deadlineAt("review_by", 24*time.Hour), check(func(t *testing.T, tk models.Ticket) {
			eq(t, "fast_reviewed (2000 > 1000)", tk.Flags.FastReviewed, false)
		})),
		at(24*time.Hour+sec, inState(models.StateRefunding)),
		at(25*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	eq(t, "policy_version", tk.PolicyVersion, "2026-11-a")
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)

	p.FastReview.MaxCents = 5_000
	tk = newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, credit(5), asking(2_000)), withPolicy(p)).run(
		at(time.Hour, payment(key(1), models.RefundSucceeded)))
	if !strings.HasPrefix(tk.FastReviewRule, "fast_review@2026-11-a") {
		t.Errorf("fast_review_rule %q does not record the policy version", tk.FastReviewRule)
	}
}

// The sync update answers with the ticket once its creation is committed.
func TestSyncUpdate(t *testing.T) {
	h := newHarness(t, newCreate(models.KindRefundOnly, models.ReturnNone, credit(3), asking(10_000)))
	var got *models.Ticket
	h.run(
		at(sec, opFunc(func(h *harness) {
			h.env.UpdateWorkflow(UpdateSync, "sync-1", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("sync refused: %v", err) },
				OnComplete: func(v any, err error) {
					if err != nil {
						t.Errorf("sync: %v", err)
						return
					}
					// The test environment hands over the workflow's own value: copy it
					// (a real client gets it serialized).
					var tk models.Ticket
					if err := json.Unmarshal([]byte(jsonOf(t, v)), &tk); err != nil {
						t.Fatal(err)
					}
					got = &tk
				},
			})
		})),
		at(time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	if got == nil {
		t.Fatalf("sync never answered")
	}
	eq(t, "id", got.ID, tid)
	eq(t, "state", got.State, models.StateRefunding)
	wantRefunds(t, *got, refundLine(1, "refund", 10_000, "sent"))
	if seqs := h.f.store.seqs(tid); len(seqs) == 0 || seqs[0] > got.Seq {
		t.Errorf("sync answered seq %d before the projection (%v)", got.Seq, seqs)
	}
}
