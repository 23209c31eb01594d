package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// TestUpgradeKeepsTheRulesATicketStartedWith starts a ticket of 2 cups and a
// plate (45.00 of units on an order paid 55.00) on the release before
// RulesLines, stops that worker, and finishes it on today's code, beside a
// ticket started today. The old ticket keeps the bound it started with (an
// offer of 50.00 is the seller's to make), today's refuses it (the units were
// paid 45.00); both end, and both histories replay on today's code.
func TestUpgradeKeepsTheRulesATicketStartedWith(t *testing.T) {
	_, r := newRecorder(t, 5*time.Minute)
	newWorker := func(opts worker.Options) worker.Worker { return r.startWorker(t, opts) }
	offer := seller(models.ActOffer, models.ActionBody{RefundCents: ptrTo[int64](5_000), KeepItem: true, Note: "keep them all"})

	before := newWorker(worker.Options{Interceptors: []interceptor.WorkerInterceptor{beforeLines()}})
	old := &live{t: t, recorder: r, patience: 30 * time.Second}
	old.start("UL1", newCreate(models.KindReturnRefund, models.ReturnSelfShip, cupsAndPlate), quickPolicy())
	if tk := old.query(); tk.Rules != models.RulesMoneyAnchored {
		t.Fatalf("the release before lines gave rules %d", tk.Rules)
	}
	before.Stop()
	after := newWorker(worker.Options{})
	defer after.Stop()
	today := &live{t: t, recorder: r, patience: 30 * time.Second}
	today.start("UL2", newCreate(models.KindReturnRefund, models.ReturnSelfShip, cupsAndPlate), quickPolicy())
	if tk := today.query(); tk.Rules != models.RulesLines {
		t.Fatalf("today's release gave rules %d", tk.Rules)
	}

	if err := today.try(offer); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("today's ticket took an offer of 50.00 for 45.00 of units: %v", err)
	}
	old.act(offer)
	old.act(buyer(models.ActAcceptOffer))
	old.pay(1, paidOK)
	old.waitFor("the end", func(tk models.Ticket) bool { return tk.State.Terminal() })
	if tk := old.query(); tk.RefundedCents != 5_000 {
		t.Errorf("the old ticket refunded %d, want the 5000 offered", tk.RefundedCents)
	}
	today.act(seller(models.ActOffer, models.ActionBody{RefundCents: ptrTo[int64](4_500), KeepItem: true, Note: "keep them all"}))
	today.act(buyer(models.ActAcceptOffer))
	today.pay(1, paidOK)
	today.waitFor("the end", func(tk models.Ticket) bool { return tk.State.Terminal() })

	for _, l := range []*live{old, today} {
		replayer := worker.NewWorkflowReplayer()
		registerWorkflows(replayer)
		if err := replayer.ReplayWorkflowHistory(testLogger{t}, history(t, r.c, l.id())); err != nil {
			t.Errorf("%s does not replay on today's code: %v", l.ticket, err)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// try sends an action as act does and returns its refusal as a models error.
func (l *live) try(a actionOp) error {
	l.t.Helper()
	_, err := l.send(a)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return models.Errorf(ae.Type(), "%s", ae.Error())
	}
	return err
}

// beforeLines is the release before RulesLines, which asked money-rules for at
// most version 1 and creation-by-starter for at most version 2.
func beforeLines() *olderRelease {
	return &olderRelease{asked: map[string]workflow.Version{moneyRulesChange: moneyRulesAnchored, creationChange: creationMoneyRules}}
}
