package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/models"
)

// An action sent while the read model showed the ticket ahead of its history
// (ReadSeq above its seq: a worker wrote it and died before its task completed)
// passes the validator and is decided after a turn of the main loop. When no
// event of that turn allows it, it fails as a refusal would (ECONFLICT), the
// ticket does not move, and nothing waits on it (the run still ends). The path
// where an event of its task allows it runs on a real server:
// worker.TestActionArrivingWithTheEventItFollows.
func TestActionSentAheadOfTheHistory(t *testing.T) {
	h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup))
	var accepted, completed bool
	var failure error
	var seqBefore, seqAfter int64
	early := opFunc(func(h *harness) {
		seqBefore = h.ticket().Seq
		req := passed.req
		req.RequestID, req.ReadSeq = "early-inspect", seqBefore+1
		h.env.UpdateWorkflow(UpdateAction, req.RequestID, &testsuite.TestUpdateCallback{
			OnAccept:   func() { accepted = true },
			OnReject:   func(err error) { t.Errorf("refused by the validator: %v", err) },
			OnComplete: func(_ any, err error) { completed, failure = true, err },
		}, req)
		h.env.RegisterDelayedCallback(func() { seqAfter = h.ticket().Seq }, time.Minute)
	})
	tk := h.run(
		at(time.Hour, approve),
		at(3*time.Hour, courier(models.CourierPickedUp)),
		at(4*time.Hour, early),
		at(5*time.Hour, courier(models.CourierDelivered)),
		at(6*time.Hour, passed),
		at(8*time.Hour, payment(key(1), models.RefundSucceeded)),
	)
	if !accepted || !completed || appErrorType(failure) != models.ECONFLICT {
		t.Errorf("early inspect: accepted %v, completed %v, error %v; want accepted and failed with %s", accepted, completed, failure, models.ECONFLICT)
	}
	eq(t, "seq after the failed inspect", seqAfter, seqBefore)
	wantEnd(t, tk, models.StateCompleted, models.OutcomeRefunded)
	wantTimeline(t, tk, "picked_up", "delivered", "inspect", "refund", "refund_paid")
}
