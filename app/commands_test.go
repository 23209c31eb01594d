package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
	"go.temporal.io/api/workflowservice/v1"
)

// A create opens a ticket whose facts come from the order record, not the
// request; it is refused for another buyer, an unknown order or more than was
// paid, and an external_id answers a repeat with the same ticket.
func TestCreateTicket(t *testing.T) {
	o, b := registered(t, 5000)
	req := refundOnly(o, 4000)
	created, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: req, Sent: app.Sent{}})
	if err != nil || !created.New || created.Ticket.State != models.StatePendingReview || created.Ticket.Order.PaidCents != 5000 {
		t.Fatalf("create = %+v, %v", created, err)
	}
	stored, err := db.GetTicket(t.Context(), created.Ticket.ID)
	if err != nil || stored.Seq != created.Ticket.Seq || len(stored.Timeline) != 1 {
		t.Errorf("the read model has %+v, %v; want the creation", stored, err)
	}

	other := req
	other.BuyerID = "someone-else"
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: other, Sent: app.Sent{}})
	wantCode(t, "a buyer opening another buyer's ticket", err, models.EFORBIDDEN)
	unknown := req
	unknown.OrderID = "o-nobody-registered"
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: unknown, Sent: app.Sent{}})
	wantCode(t, "an unknown order", err, models.EINVALID)
	tooMuch := req
	tooMuch.RequestedCents = 5001
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: tooMuch, Sent: app.Sent{}})
	wantCode(t, "more than was paid", err, models.EINVALID)
	_, err = cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: req, Sent: app.Sent{"order": true}})
	wantCode(t, "a buyer stating the order", err, models.EINVALID)

	// The shop's own reference: the same body is the same ticket, another body a conflict.
	byShop := req
	byShop.ExternalID = fmt.Sprintf("ext-%d", seq.Add(1))
	first, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: byShop, Sent: app.Sent{"external_id": true}})
	if err != nil || !first.New {
		t.Fatalf("the seller's create = %+v, %v", first, err)
	}
	again, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: byShop, Sent: app.Sent{"external_id": true}})
	if err != nil || again.New || again.Ticket.ID != first.Ticket.ID {
		t.Errorf("the same external_id and body: %+v, %v; want ticket %s again", again, err, first.Ticket.ID)
	}
	byShop.RequestedCents = 100
	_, err = cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: byShop, Sent: app.Sent{"external_id": true}})
	wantCode(t, "the same external_id with another body", err, models.ECONFLICT)
}

// An action is applied by the ticket's workflow and answered with the ticket
// after it; a stale If-Match, another shop, an unknown action and an action
// the state does not allow change nothing.
func TestAct(t *testing.T) {
	o, b := registered(t, 5000)
	created, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: refundOnly(o, 5000), Sent: app.Sent{}})
	if err != nil {
		t.Fatal(err)
	}
	tk := created.Ticket
	stranger := models.Principal{Role: models.RoleSeller, Subject: "shop-elsewhere"}
	_, err = cmds.Act(t.Context(), stranger, app.Act{TicketID: tk.ID, Action: "approve"})
	wantCode(t, "another shop approves", err, models.ENOTFOUND)
	_, err = cmds.Act(t.Context(), seller, app.Act{TicketID: tk.ID, Action: "teleport"})
	wantCode(t, "an unknown action", err, models.ENOTFOUND)
	_, err = cmds.Act(t.Context(), b, app.Act{TicketID: tk.ID, Action: "approve"})
	wantCode(t, "the buyer approves", err, models.EFORBIDDEN)
	_, err = cmds.Act(t.Context(), seller, app.Act{TicketID: tk.ID, Action: "reply", IfMatch: tk.Seq + 1})
	wantCode(t, "a reply on a screen from the future", err, models.EPRECONDITION)

	after, err := cmds.Act(t.Context(), seller, app.Act{TicketID: tk.ID, Action: "reply", IfMatch: tk.Seq,
		Body: models.ActionBody{Message: "looking into it"}})
	if err != nil || after.Seq != tk.Seq+1 || after.Replies != 1 {
		t.Fatalf("reply = seq %d replies %d, %v; want seq %d, 1 reply", after.Seq, after.Replies, err, tk.Seq+1)
	}
	_, err = cmds.Act(t.Context(), seller, app.Act{TicketID: tk.ID, Action: "approve", IfMatch: tk.Seq})
	wantCode(t, "an approval on the screen before the reply", err, models.EPRECONDITION)
	approved, err := cmds.Act(t.Context(), seller, app.Act{TicketID: tk.ID, Action: "approve", IfMatch: after.Seq})
	if err != nil || approved.State != models.StateRefunding {
		t.Fatalf("approve = %s, %v; want refunding", approved.State, err)
	}
	_, err = cmds.Act(t.Context(), b, app.Act{TicketID: tk.ID, Action: "revise"})
	wantCode(t, "a revision while refunding", err, models.ECONFLICT)
}

// A payment provider's answer reaches the ledger first, then the ticket whose
// key it is; a key the ledger never issued is refused.
func TestDeliverPaymentEvent(t *testing.T) {
	o, b := registered(t, 3000)
	created, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: refundOnly(o, 3000), Sent: app.Sent{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmds.Act(t.Context(), seller, app.Act{TicketID: created.Ticket.ID, Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	key := created.Ticket.ID + ":refund:1"
	waitSent(t, key)
	ev, err := pay.Settle(key, models.RefundSucceeded, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmds.DeliverPaymentEvent(t.Context(), ev); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if row, err := db.GetRefund(t.Context(), key); err != nil || row.Status != models.RefundSucceeded {
		t.Errorf("ledger %+v, %v; want succeeded", row, err)
	}
	done := waitState(t, created.Ticket.ID, models.StateCompleted)
	if done.RefundedCents != 3000 {
		t.Errorf("refunded %d, want 3000", done.RefundedCents)
	}
	ev.EventID, ev.RefundKey = ev.EventID+"-x", "never-issued:refund:1"
	wantCode(t, "a key the ledger never issued", cmds.DeliverPaymentEvent(t.Context(), ev), models.EINVALID)
}

// waitSent waits until the worker has handed key to the provider.
func waitSent(t *testing.T, key string) {
	t.Helper()
	for range 1500 {
		if row, err := db.GetRefund(t.Context(), key); err == nil && row.Status == models.RefundSent {
			return
		}
		sleepTick()
	}
	t.Fatalf("refund %s never sent", key)
}

// Orders are the shop's: a seller registers its own, the platform and buyers
// name the shop, a buyer sees only its own order, and another shop's order of
// the same id is answered like one no one registered.
func TestOrderCommands(t *testing.T) {
	o, b := registered(t, 2000)
	ref := app.OrderRef{OrderID: o.OrderID}
	if got, err := cmds.Order(t.Context(), seller, ref); err != nil || got.PaidCents != 2000 {
		t.Errorf("the seller reads its order: %+v, %v", got, err)
	}
	_, err := cmds.Order(t.Context(), platform, ref)
	wantCode(t, "the platform names no shop", err, models.EINVALID)
	ref.ShopID = o.ShopID
	if got, err := cmds.Order(t.Context(), b, ref); err != nil || got.BuyerID != b.Subject {
		t.Errorf("the buyer reads its order: %+v, %v", got, err)
	}
	_, err = cmds.Order(t.Context(), buyer("buyer-nobody"), ref)
	wantCode(t, "another buyer reads it", err, models.ENOTFOUND)
	elsewhere := models.Principal{Role: models.RoleSeller, Subject: "shop-app-2"}
	_, theirErr := cmds.Order(t.Context(), elsewhere, app.OrderRef{OrderID: o.OrderID})
	_, noneErr := cmds.Order(t.Context(), elsewhere, app.OrderRef{OrderID: "o-app-none"})
	if models.ErrorCode(theirErr) != models.ENOTFOUND || models.ErrorMessage(theirErr) != models.ErrorMessage(models.UnknownOrder("shop-app-2", o.OrderID)) ||
		models.ErrorMessage(noneErr) != models.ErrorMessage(models.UnknownOrder("shop-app-2", "o-app-none")) {
		t.Errorf("another shop's order: %v; no one's: %v; want the same words", theirErr, noneErr)
	}
	mine := o
	mine.ShopID = elsewhere.Subject
	_, _, err = cmds.PutOrder(t.Context(), seller, mine, app.Sent{})
	wantCode(t, "a seller registering for another shop", err, models.EFORBIDDEN)
	if _, created, err := cmds.PutOrder(t.Context(), elsewhere, mine, app.Sent{}); err != nil || !created {
		t.Errorf("the other shop registers its own %s: created %v, %v", o.OrderID, created, err)
	}
}

// A shipping watch is started once per shop's order and ends on the shipment.
func TestShippingWatchCommands(t *testing.T) {
	o, _ := registered(t, 10000)
	ref := app.OrderRef{OrderID: o.OrderID}
	w, err := cmds.StartShippingWatch(t.Context(), seller, ref, app.ShippingWatchRequest{}, app.Sent{})
	if err != nil || w.State != workflows.WatchWatching || w.ShopID != o.ShopID {
		t.Fatalf("start = %+v, %v", w, err)
	}
	if again, err := cmds.StartShippingWatch(t.Context(), seller, ref, app.ShippingWatchRequest{}, app.Sent{}); err != nil || again.ShipBy != w.ShipBy {
		t.Errorf("start again = %+v, %v; want the same watch", again, err)
	}
	_, err = cmds.ShippingWatch(t.Context(), models.Principal{Role: models.RoleSeller, Subject: "shop-app-3"}, ref)
	wantCode(t, "another shop's watch", err, models.ENOTFOUND)
	shipped, err := cmds.OrderShipped(t.Context(), seller, ref)
	if err != nil || shipped.State != workflows.WatchShipped {
		t.Errorf("shipped = %+v, %v", shipped, err)
	}
}

// A ticket gets its shop's next RMA number at creation, keeps it on a repeat
// of its create, and an operator finds its workflow by it (search attribute RMA).
func TestRMANumbers(t *testing.T) {
	o, b := registered(t, 2000)
	req := refundOnly(o, 1000)
	req.ExternalID = fmt.Sprintf("ext-rma-%d", seq.Add(1))
	first, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: req, Sent: app.Sent{"external_id": true}})
	if err != nil || !strings.HasPrefix(first.Ticket.RMA, seller.Subject+"-") || len(first.Ticket.RMA) != len(seller.Subject)+7 {
		t.Fatalf("create: rma %q, %v", first.Ticket.RMA, err)
	}
	again, err := cmds.CreateTicket(t.Context(), seller, app.CreateTicket{Request: req, Sent: app.Sent{"external_id": true}})
	if err != nil || again.Ticket.RMA != first.Ticket.RMA {
		t.Errorf("the same create again: rma %q, %v; want %q", again.Ticket.RMA, err, first.Ticket.RMA)
	}
	second, err := cmds.CreateTicket(t.Context(), b, app.CreateTicket{Request: refundOnly(o, 1000), Sent: app.Sent{}})
	if err != nil || second.Ticket.RMA == first.Ticket.RMA || second.Ticket.RMA <= first.Ticket.RMA {
		t.Errorf("the shop's next ticket: rma %q, %v; want one after %q", second.Ticket.RMA, err, first.Ticket.RMA)
	}
	query := fmt.Sprintf("RMA = '%s'", first.Ticket.RMA)
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := tc.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(res.Executions) == 1 && res.Executions[0].Execution.WorkflowId == workflows.TicketWorkflowID(first.Ticket.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility %q: %v, %v", query, res, err)
		}
		sleepTick()
	}
}
