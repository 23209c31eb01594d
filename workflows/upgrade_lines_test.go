package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/aftersales/aftersales/models"
)

// TestUpgradeKeepsTheRulesATicketStartedWith starts a ticket of 2 cups and a
// plate (45.00 of units on an order paid 55.00) on the release before
// RulesLines, stops that worker, and finishes it on today's code, beside a
// ticket started today. The old ticket keeps the bound it started with (an
// offer of 50.00 is the seller's to make), today's refuses it (the units were
// paid 45.00); both end, and both histories replay on today's code.
func TestUpgradeKeepsTheRulesATicketStartedWith(t *testing.T) {
	srv := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{Logger: testLogger{t}}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := &recorder{c: srv.GetDefaultClient(), ctx: ctx, f: newFakes(), saved: map[string]int{}}
	if _, err := r.c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: srv.GetDefaultNamespace(), SearchAttributes: SearchAttributes}); err != nil {
		t.Fatalf("add search attributes: %v", err)
	}
	newWorker := func(opts worker.Options) worker.Worker {
		w := worker.New(r.c, TaskQueue, opts)
		registerWorkflows(w)
		w.RegisterActivity(r.f.activities())
		if err := w.Start(); err != nil {
			t.Fatalf("worker: %v", err)
		}
		return w
	}
	offer := seller(models.ActOffer, models.ActionBody{RefundCents: ptrTo[int64](5_000), KeepItem: true, Note: "keep them all"})

	before := newWorker(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&beforeLines{}}})
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

// try sends an action as act does and returns its refusal.
func (l *live) try(a actionOp) error {
	l.t.Helper()
	l.n++
	req := a.req
	req.RequestID = fmt.Sprintf("rec-%d", l.n)
	h, err := l.c.UpdateWorkflow(l.ctx, client.UpdateWorkflowOptions{WorkflowID: l.id(), UpdateName: UpdateAction,
		UpdateID: req.RequestID, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(l.ctx, nil)
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return models.Errorf(ae.Type(), "%s", ae.Error())
	}
	return err
}

// beforeLines makes a worker run the code of the release before RulesLines,
// which asked money-rules for at most version 1 and creation-by-starter for
// at most version 2.
type beforeLines struct {
	interceptor.WorkerInterceptorBase
}

func (*beforeLines) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &beforeLinesInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type beforeLinesInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *beforeLinesInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&beforeLinesOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type beforeLinesOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *beforeLinesOutbound) GetVersion(ctx workflow.Context, changeID string, lo, hi workflow.Version) workflow.Version {
	switch changeID {
	case moneyRulesChange:
		hi = min(hi, moneyRulesAnchored)
	case creationChange:
		hi = min(hi, creationMoneyRules)
	}
	return o.Next.GetVersion(ctx, changeID, lo, hi)
}
