package workflows

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/models"
)

// TestUpgradeMidTicket runs tickets on the code before leanChange and
// creationChange, stops that worker halfway through and finishes them on
// today's code, as a rolling upgrade does, on an in-process server. The replay test covers histories one release
// wrote from start to end; this covers the ones an upgrade leaves behind, which
// start on one release and go on under the next:
//   - a ticket whose behaviours had already parted (an effect ran) keeps the old
//     ones to its end;
//   - a ticket upgraded before they part takes the new ones from there;
//   - a ticket created on today's code records creationChange, and with it the
//     lean history, at its start.
//
// Each must reach its end with one refund paid, and its whole history must replay.
func TestUpgradeMidTicket(t *testing.T) {
	_, r := newRecorder(t, 5*time.Minute)
	newWorker := func(opts worker.Options) worker.Worker { return r.startWorker(t, opts) }
	before := newWorker(worker.Options{Interceptors: []interceptor.WorkerInterceptor{beforeLean()}})

	parted := &live{t: t, recorder: r, patience: 30 * time.Second}
	parted.startBefore("UP1", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())
	parted.act(recApprove)
	parted.waitBooked(1)
	fresh := &live{t: t, recorder: r, patience: 30 * time.Second}
	fresh.startBefore("UP2", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())

	before.Stop() // the rolling upgrade: the old release is gone before the new one polls
	after := newWorker(worker.Options{})
	defer after.Stop()
	today := &live{t: t, recorder: r, patience: 30 * time.Second}
	today.start("UP3", newCreate(models.KindReturnRefund, models.ReturnPickup), quickPolicy())

	for _, l := range []*live{parted, fresh, today} {
		if l != parted {
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
		l                 *live
		creation, lean    int  // the creationChange and leanChange markers its history records
		effectsActivities bool // its effects ran as activities (before leanChange)
	}{{parted, 0, 0, true}, {fresh, 0, 1, false}, {today, 1, 0, false}} {
		hist := history(t, r.c, c.l.id())
		markers, activities := map[string]int{}, 0
		for _, e := range hist.Events {
			switch e.EventType {
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				if e.GetMarkerRecordedEventAttributes().MarkerName == "Version" {
					markers[markerChangeID(t, e)]++
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				activities++
			}
		}
		if markers[creationChange] != c.creation || markers[leanChange] != c.lean || (activities > 0) != c.effectsActivities {
			t.Errorf("%s: version markers %v, %d activities; want %d %s, %d %s, activities: %v",
				c.l.ticket, markers, activities, c.creation, creationChange, c.lean, leanChange, c.effectsActivities)
		}
		replayer := worker.NewWorkflowReplayer()
		registerWorkflows(replayer)
		if err := replayer.ReplayWorkflowHistory(testLogger{t}, hist); err != nil {
			t.Errorf("%s does not replay on today's code: %v", c.l.ticket, err)
		}
	}
}

// olderRelease makes a worker run the workflow code as an earlier release
// did, as far as the change ids go: a change id it names with
// workflow.DefaultVersion was never asked for (no marker is recorded, and
// every behaviour is the default one); one it names with a version was asked
// for with that version at most.
type olderRelease struct {
	interceptor.WorkerInterceptorBase
	asked map[string]workflow.Version
}

// beforeLean is the release before leanChange and creationChange: that code
// never asked for either version (nor read TicketInput.CreationProjected).
func beforeLean() *olderRelease {
	return &olderRelease{asked: map[string]workflow.Version{leanChange: workflow.DefaultVersion, creationChange: workflow.DefaultVersion}}
}

func (r *olderRelease) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &olderReleaseInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, asked: r.asked}
}

type olderReleaseInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	asked map[string]workflow.Version
}

func (i *olderReleaseInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&olderReleaseOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, asked: i.asked})
}

type olderReleaseOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	asked map[string]workflow.Version
}

func (o *olderReleaseOutbound) GetVersion(ctx workflow.Context, changeID string, lo, hi workflow.Version) workflow.Version {
	v, ok := o.asked[changeID]
	switch {
	case ok && v == workflow.DefaultVersion:
		return workflow.DefaultVersion
	case ok:
		hi = min(hi, v)
	}
	return o.Next.GetVersion(ctx, changeID, lo, hi)
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

// startBefore creates a ticket as the API before creationChange did: an
// update-with-start of UpdateSync, which answered once the run had written the
// creation. Workers are upgraded before the API: the create of today's API
// answers before the run's first workflow task, and an action sent at once
// may come in it, which only today's code takes (it creates the ticket before
// it registers its handlers).
func (l *live) startBefore(ticketID string, c models.CreateTicket, p models.Policy) {
	l.t.Helper()
	l.ticket = ticketID
	c.OrderID = "order-" + ticketID
	in := TicketInput{TicketID: ticketID, Create: c, Policy: p, Actor: c.BuyerID, Role: models.RoleBuyer,
		RequestID: "create-" + ticketID, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	op := l.c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: l.id(), TaskQueue: TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    StartSearchAttributes(c, p, in.CreatedAt),
	}, "TicketWorkflow", in)
	h, err := l.c.UpdateWithStartWorkflow(l.ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: UpdateSync, UpdateID: "create:" + ticketID,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		err = h.Get(l.ctx, nil)
	}
	if err != nil {
		l.t.Fatalf("create %s: %v", ticketID, err)
	}
}
