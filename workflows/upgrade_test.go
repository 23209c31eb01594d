package workflows

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/aftersales/aftersales/models"
)

// TestUpgradeMidTicket runs tickets on the code before leanChange, stops that
// worker halfway through and finishes them on today's code, as a rolling upgrade
// does, on an in-process server. The replay test covers histories one release
// wrote from start to end; this covers the ones an upgrade leaves behind, which
// start on one release and go on under the next:
//   - a ticket whose behaviours had already parted (an effect ran) keeps the old
//     ones to its end;
//   - a ticket upgraded before they part takes the new ones from there.
//
// Each must reach its end with one refund paid, and its whole history must replay.
func TestUpgradeMidTicket(t *testing.T) {
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
	before := newWorker(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&beforeLean{}}})

	parted := &live{t: t, recorder: r, patience: 30 * time.Second}
	parted.start("UP1", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
	parted.act(recApprove)
	parted.waitBooked(1)
	fresh := &live{t: t, recorder: r, patience: 30 * time.Second}
	fresh.start("UP2", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())

	before.Stop() // the rolling upgrade: the old release is gone before the new one polls
	after := newWorker(worker.Options{})
	defer after.Stop()

	for _, l := range []*live{parted, fresh} {
		if l == fresh {
			l.act(recApprove)
		}
		l.courier(models.CourierPickedUp, models.StateInTransit)
		l.courier(models.CourierDelivered, models.StateAwaitingInspection)
		l.act(recPass)
		l.pay(1, paidOK)
		l.waitFor("the end", func(tk models.Ticket) bool { return tk.State.Terminal() })
		l.act(buyer(models.ActEvaluate, models.ActionBody{Score: 5, Comment: "fine"}))
		l.waitWorkflow(l.id())
		if tk := l.query(); tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != tk.RequestedCents {
			t.Errorf("%s ended %s/%s with %d of %d cents refunded", l.ticket, tk.State, tk.Outcome, tk.RefundedCents, tk.RequestedCents)
		}
	}
	if err := r.f.pay.check(); err != nil {
		t.Error(err)
	}

	for _, c := range []struct {
		l    *live
		lean bool // the history records the version and runs its effects first as local activities
	}{{parted, false}, {fresh, true}} {
		hist := history(t, r.c, c.l.id())
		markers, locals, activities := 0, 0, 0
		for _, e := range hist.Events {
			switch e.EventType {
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				switch e.GetMarkerRecordedEventAttributes().MarkerName {
				case "Version":
					if markerChangeID(t, e) == leanChange {
						markers++
					}
				case "LocalActivity":
					locals++
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				activities++
			}
		}
		if c.lean && (markers != 1 || activities != 0) || !c.lean && (markers != 0 || activities == 0) {
			t.Errorf("%s: %d %s markers, %d activities, %d local activities; want the lean history: %v",
				c.l.ticket, markers, leanChange, activities, locals, c.lean)
		}
		replayer := worker.NewWorkflowReplayer()
		registerWorkflows(replayer)
		if err := replayer.ReplayWorkflowHistory(testLogger{t}, hist); err != nil {
			t.Errorf("%s does not replay on today's code: %v", c.l.ticket, err)
		}
	}
}

// beforeLean makes a worker run the code as it was before leanChange: that code
// never asked for the version, so no marker is recorded and every behaviour is
// the default one.
type beforeLean struct {
	interceptor.WorkerInterceptorBase
}

func (*beforeLean) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &beforeLeanInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type beforeLeanInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *beforeLeanInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&beforeLeanOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type beforeLeanOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *beforeLeanOutbound) GetVersion(ctx workflow.Context, changeID string, min, max workflow.Version) workflow.Version {
	if changeID == leanChange {
		return workflow.DefaultVersion
	}
	return o.Next.GetVersion(ctx, changeID, min, max)
}

// markerChangeID is the change id a version marker records.
func markerChangeID(t *testing.T, e *historypb.HistoryEvent) string {
	t.Helper()
	var id string
	if err := converter.GetDefaultDataConverter().FromPayloads(e.GetMarkerRecordedEventAttributes().Details["change-id"], &id); err != nil {
		t.Fatalf("version marker %d: %v", e.EventId, err)
	}
	return id
}

func history(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}
