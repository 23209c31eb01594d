package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"encoding/base64"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/worker"
	"github.com/aftersales/aftersales/workflows"
)

// A worker applies a courier event and writes the read model, then dies before
// the server takes its workflow task; an agent acts on the state the read model
// shows, and the retried task carries the event and the action together. The
// action is decided after the event (before, its validator refused it: "cannot
// inspect a ticket in state in_transit"). On a real server with real workers:
// the first loses its task completions from the event on and stops; the second
// starts once the server has admitted the action.
func TestActionArrivingWithTheEventItFollows(t *testing.T) {
	srv, c, db := embedded(t, workflows.SearchAttributes)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	pay := &payment.Simulator{Mode: payment.ModeManual}
	t.Cleanup(func() { _ = pay.Close() })
	parcels := &courier.Simulator{Mode: courier.ModeManual}
	t.Cleanup(func() { _ = parcels.Close() })
	acts := &activities.Activities{Store: db, Ledger: db, Parcels: db, Courier: parcels, Payment: pay}
	cmds := app.New(app.Config{Temporal: c, Store: db, Policy: models.DefaultPolicy(), Logger: quiet})

	// The first worker's completions of workflow tasks are lost once armed, as a
	// worker's are when it dies between its local activities and its answer.
	var dying atomic.Bool
	lost := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if dying.Load() && strings.HasSuffix(method, "/RespondWorkflowTaskCompleted") {
			return status.Error(codes.Unavailable, "the worker died")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	dc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: sdklog.NewStructuredLogger(quiet),
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(lost)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	first := worker.New(dc, acts)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	seller := models.Principal{Role: models.RoleSeller, Subject: "shop-w"}
	buyer := models.Principal{Role: models.RoleBuyer, Subject: "buyer-w"}
	paid := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	delivered := paid.Add(24 * time.Hour)
	o := models.Order{OrderID: "o-w-1", OrderFacts: models.OrderFacts{ShopID: seller.Subject, BuyerID: buyer.Subject,
		PaidCents: 5000, Currency: "CNY", PaidAt: paid, ShippedAt: &paid, DeliveredAt: &delivered}}
	if _, _, err := cmds.PutOrder(t.Context(), seller, o, app.Sent{}); err != nil {
		t.Fatal(err)
	}
	created, err := cmds.CreateTicket(t.Context(), buyer, app.CreateTicket{Request: models.CreateTicket{OrderID: o.OrderID,
		ShopID: o.ShopID, BuyerID: buyer.Subject, Kind: models.KindReturnRefund, ReasonCode: models.ReasonQuality,
		ReturnMethod: models.ReturnPickup, PickupAddress: "1 Nanjing Rd, Shanghai", RequestedCents: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.Ticket.ID
	if _, err := cmds.Act(t.Context(), seller, app.Act{TicketID: id, Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	courierEvent := func(n, typ string) {
		t.Helper()
		ev := models.CourierEvent{EventID: id + "-" + n, TicketID: id, Type: typ, At: time.Now().UTC()}
		if err := cmds.DeliverCourierEvent(t.Context(), ev); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	waitFor := func(state models.State) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			tk, err := db.GetTicket(t.Context(), id)
			if err == nil && tk.State == state {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("ticket is %s (%v), never %s", tk.State, err, state)
			}
		}
	}
	waitFor(models.StateAwaitingPickup)
	courierEvent("1", models.CourierPickedUp)
	waitFor(models.StateInTransit)

	dying.Store(true)
	courierEvent("2", models.CourierDelivered)
	waitFor(models.StateAwaitingInspection) // written by the worker whose task is lost
	first.Stop()
	inspected := make(chan error, 1)
	go func() {
		_, err := cmds.Act(t.Context(), seller, app.Act{TicketID: id, Action: "inspect", UpdateID: "inspect-1",
			Body: models.ActionBody{Result: models.InspectPass}})
		inspected <- err
	}()
	waitAdmitted(t, c, srv.Namespace(), workflows.TicketWorkflowID(id), "inspect-1")
	second := worker.New(c, acts)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)
	if err := <-inspected; err != nil {
		t.Fatalf("inspect sent with the delivery it follows: %v", err)
	}
	waitFor(models.StateRefunding)

	// The history this made replays on the code (the new path is deterministic).
	var h historypb.History
	for it := c.GetWorkflowHistory(t.Context(), workflows.TicketWorkflowID(id), "", false, 0); it.HasNext(); {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	if b, _ := protojson.Marshal(&h); !strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(`"events-before-actions"`))) {
		t.Errorf("the history has no version marker of events-before-actions: the action took the old path")
	}
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.TicketWorkflow, workflow.RegisterOptions{Name: "TicketWorkflow"})
	replayer.RegisterWorkflowWithOptions(workflows.EscalationWorkflow, workflow.RegisterOptions{Name: "EscalationWorkflow"})
	if err := replayer.ReplayWorkflowHistory(nil, &h); err != nil {
		t.Errorf("replay: %v", err)
	}
}

// waitAdmitted returns once the server holds the update (it is waiting for a
// worker to take it).
func waitAdmitted(t *testing.T, c client.Client, namespace, workflowID, updateID string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
			Namespace:  namespace,
			UpdateRef:  &update.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID}, UpdateId: updateID},
			WaitPolicy: &update.WaitPolicy{LifecycleStage: enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
		})
		cancel()
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			return
		case !errors.As(err, &nf):
			t.Fatalf("poll update %s: %v", updateID, err)
		case time.Now().After(deadline):
			t.Fatalf("update %s never admitted", updateID)
		}
	}
}
