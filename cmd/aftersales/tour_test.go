package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// The tour runs on real timers, so each deadline is either a window in which the
// test acts or a wait the test sits out. A state in which some row acts (or
// reads the running deadline) gets actWindow: one round trip (a poll, an update
// or a webhook) must fit in it, which a loaded machine does with room to spare.
// A state the rows only wait through gets the short waitWindow.
const (
	actWindow  = 15 * time.Second
	waitWindow = 4 * time.Second
)

// tourPolicy gives every deadline actWindow or waitWindow (see above).
var tourPolicy = fmt.Sprintf(`version: tour
review_timeout: %[1]s
offer_response_timeout: %[2]s
appeal_timeout: %[2]s
pickup_timeout: %[1]s
pickup_attempts: 2
buyer_ship_timeout: %[1]s
transit_timeout: %[1]s
inspect_timeout: %[1]s
refund_timeout: %[1]s
replacement_confirm_timeout: %[2]s
repair_timeout: %[1]s
evidence_timeout: %[1]s
arbiter_timeout: %[2]s
recover_timeout: %[1]s
evaluation_window: %[1]s
fast_review: {enabled: false}
`, actWindow, waitWindow)

// tour drives tickets through every row of the state table over HTTP on the dev
// runtime, with a short-deadline policy file and the providers in manual mode.
type tour struct {
	t                            *testing.T
	rt                           *devRuntime
	courierSender, paymentSender *webhook.Sender
	keys                         map[models.Role]string
	events                       atomic.Int64
}

func TestEveryStateOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real deadlines; skipped with -short")
	}
	// It spends its time waiting for real timers: it runs beside the other
	// test that does (the tour and the provider outage), each on its own runtime.
	t.Parallel()
	dir := t.TempDir()
	policy := filepath.Join(dir, "tour.yaml")
	if err := os.WriteFile(policy, []byte(tourPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testDevFlags(t, dir)
	d.policyFile = policy
	rt, err := startDev(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	secrets, err := loadWebhookSecrets(rt.courierSecret, rt.paymentSecret, false)
	if err != nil {
		t.Fatal(err)
	}
	tr := &tour{t: t, rt: rt, keys: map[models.Role]string{},
		courierSender: &webhook.Sender{URL: rt.apiURL, Keys: secrets.courier},
		paymentSender: &webhook.Sender{URL: rt.apiURL, Keys: secrets.payment}}
	for _, k := range rt.keys {
		tr.keys[k.Role] = k.Key
	}

	rows := []struct {
		name string
		run  func(t *testing.T, tr *tour)
	}{
		{"review_by auto-approves, refund_by breach then escalation", tourReviewAndRefund},
		{"offer_response_by expires", tourNegotiation},
		{"appeal_by closes rejected", tourRejected},
		{"pickup_by re-books then falls back, ship_by expires", tourPickup},
		{"arrive_by escalates, evidence_by and decide_by decide", tourTransitEscalation},
		{"lightning refund, recover_by writes off", tourLightningRecovery},
		{"inspect_by auto-passes, refund, evaluation", tourInspection},
		{"confirm_by auto-confirms the exchange", tourExchange},
		{"repair_by escalates", tourRepair},
		{"swap on delivery", tourSwap},
	}
	// The rows run at once, each in a goroutine of its own rather than with
	// t.Parallel: they spend their time waiting for timers, and go test would run
	// only -parallel (GOMAXPROCS, 2 here) of them at a time. All return before
	// rt stops.
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Go(func() { t.Run(r.name, func(t *testing.T) { r.run(t, tr) }) })
	}
	wg.Wait()
}

func (tr *tour) create(t *testing.T, c models.CreateTicket) models.Ticket {
	t.Helper()
	c.OrderID = fmt.Sprintf("tour-%d", tr.events.Add(1))
	c.ShopID, c.BuyerID, c.Currency = "shop-1", "buyer-1", "CNY"
	if c.Order.PaidCents == 0 {
		c.Order = models.OrderInfo{PaidCents: 80000, PaidAt: time.Now().UTC()}
	}
	if c.ReasonCode == "" {
		c.ReasonCode = models.ReasonNoReason
	}
	var tk models.Ticket
	code := 0
	if c.BuyerCredit != 0 {
		// A rated buyer of its own, opened by the platform (which states the order
		// and the credit, registering both): buyer-1's record is shared by the rows
		// running beside this one.
		c.BuyerID = fmt.Sprintf("buyer-rated-%d", tr.events.Add(1))
		code = request(t, http.MethodPost, tr.rt.apiURL+"/v1/tickets", tr.keys[models.RolePlatform], c, &tk)
	} else {
		code = openTicket(t, tr.rt.apiURL, tr.rt.keys, c, &tk)
	}
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	tr.expect(t, tk, models.StatePendingReview, "review_by")
	return tk
}

func (tr *tour) act(t *testing.T, role models.Role, id, action string, body any) models.Ticket {
	t.Helper()
	var tk models.Ticket
	if code := request(t, http.MethodPost, tr.rt.apiURL+"/v1/tickets/"+id+"/"+action, tr.keys[role], body, &tk); code != http.StatusOK {
		t.Fatalf("%s by %s: status %d", action, role, code)
	}
	return tk
}

func (tr *tour) courier(t *testing.T, id, typ string) {
	t.Helper()
	ev := models.CourierEvent{EventID: "tour-c-" + strconv.FormatInt(tr.events.Add(1), 10), TicketID: id, Type: typ}
	if err := tr.courierSender.Send(context.Background(), "/v1/webhooks/courier", ev.EventID, ev); err != nil {
		t.Fatal(err)
	}
}

// payment posts the provider's answer for key once the ticket has handed the key
// to the provider (before that the ledger does not hold it and refuses the event).
func (tr *tour) payment(t *testing.T, id, key string, status models.MoneyStatus) {
	t.Helper()
	tr.awaitThat(t, id, key+" sent", func(tk models.Ticket) bool {
		i := tk.Refunds.Find(key)
		return i >= 0 && tk.Refunds[i].Status != models.RefundPending
	})
	ev := models.PaymentEvent{EventID: "tour-p-" + strconv.FormatInt(tr.events.Add(1), 10), TicketID: id, RefundKey: key, Status: status}
	if err := tr.paymentSender.Send(context.Background(), "/v1/webhooks/payment", ev.EventID, ev); err != nil {
		t.Fatal(err)
	}
}

// expect checks the state and the name of the deadline that runs in it.
func (tr *tour) expect(t *testing.T, tk models.Ticket, state models.State, deadline string) {
	t.Helper()
	got := ""
	if tk.Deadline != nil {
		got = tk.Deadline.Name
	}
	if tk.State != state || got != deadline {
		t.Fatalf("ticket %s: %s with deadline %q, want %s with %q", tk.ID, tk.State, got, state, deadline)
	}
}

// await polls until the ticket is in state (after a webhook or a deadline),
// bounded by the test's deadline; a dead API ends it at once.
func (tr *tour) await(t *testing.T, id string, state models.State) models.Ticket {
	t.Helper()
	return tr.awaitThat(t, id, string(state), func(tk models.Ticket) bool { return tk.State == state })
}

// awaitThat polls until the ticket satisfies ok.
func (tr *tour) awaitThat(t *testing.T, id, what string, ok func(models.Ticket) bool) models.Ticket {
	t.Helper()
	var tk models.Ticket
	waitFor(t, tr.rt.served, "ticket "+id+": "+what, func() (bool, string) {
		tk = models.Ticket{}
		request(t, http.MethodGet, tr.rt.apiURL+"/v1/tickets/"+id, tr.keys[models.RolePlatform], nil, &tk)
		if ok(tk) {
			return true, ""
		}
		if tk.State.Terminal() { // it never will: fail now, not at the test's deadline
			t.Fatalf("ticket %s ended %s (%s) before %s; timeline %+v", id, tk.State, tk.Outcome, what, tk.Timeline)
		}
		return false, fmt.Sprintf("%s, flags %+v", tk.State, tk.Flags)
	})
	return tk
}

func hasAction(tk models.Ticket, action string) bool {
	return slices.ContainsFunc(tk.Timeline, func(e models.Event) bool { return e.Action == action })
}

func tourReviewAndRefund(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindRefundOnly, ReasonCode: models.ReasonNotReceived, RequestedCents: 30000})
	tk = tr.await(t, tk.ID, models.StateRefunding) // review_by passed: auto-approved, refund sent
	if !hasAction(tk, "auto_approve") || !tk.Flags.AutoActed {
		t.Errorf("no auto_approve: %+v", tk.Timeline)
	}
	tr.expect(t, tk, models.StateRefunding, "refund_by")
	// refund_by passed with no confirmation: forced, breach recorded.
	tk = tr.awaitThat(t, tk.ID, "seller breach", func(tk models.Ticket) bool { return tk.Flags.SellerBreach })
	if !hasAction(tk, "force_refund") {
		t.Errorf("breach without force_refund: %+v", tk.Timeline)
	}
	tk = tr.await(t, tk.ID, models.StateEscalated) // missed again: the platform intervenes
	tr.expect(t, tk, models.StateEscalated, "evidence_by")
}

func tourNegotiation(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindRefundOnly, ReasonCode: models.ReasonQuality, RequestedCents: 50000})
	tk = tr.act(t, models.RoleSeller, tk.ID, "offer", map[string]any{"refund_cents": 20000, "keep_item": true})
	tr.expect(t, tk, models.StateNegotiating, "offer_response_by")
	tk = tr.await(t, tk.ID, models.StateClosed)
	if tk.Outcome != models.OutcomeExpired {
		t.Errorf("outcome %s, want expired", tk.Outcome)
	}
}

func tourRejected(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindRefundOnly, ReasonCode: models.ReasonQuality, RequestedCents: 50000})
	tk = tr.act(t, models.RoleSeller, tk.ID, "reject", map[string]any{"reason": "photos show no defect"})
	tr.expect(t, tk, models.StateRejected, "appeal_by")
	tk = tr.await(t, tk.ID, models.StateClosed)
	if tk.Outcome != models.OutcomeRejected {
		t.Errorf("outcome %s, want rejected", tk.Outcome)
	}
}

func tourPickup(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindReturnRefund, ReturnMethod: models.ReturnPickup, RequestedCents: 60000, PickupAddress: "1 Road"})
	tk = tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.expect(t, tk, models.StateAwaitingPickup, "pickup_by")
	tk = tr.await(t, tk.ID, models.StateAwaitingBuyerShipment) // re-booked once, then self-ship
	if tk.Logistics.PickupAttempts != 2 || tk.ReturnMethod != models.ReturnSelfShip || !hasAction(tk, "rebook_pickup") {
		t.Errorf("attempts %d method %s", tk.Logistics.PickupAttempts, tk.ReturnMethod)
	}
	tr.expect(t, tk, models.StateAwaitingBuyerShipment, "ship_by")
	tk = tr.await(t, tk.ID, models.StateClosed)
	if tk.Outcome != models.OutcomeExpired {
		t.Errorf("outcome %s, want expired", tk.Outcome)
	}
}

func tourTransitEscalation(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindReturnRefund, ReturnMethod: models.ReturnSelfShip, RequestedCents: 60000})
	tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tk = tr.act(t, models.RoleBuyer, tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": "SF123"})
	tr.expect(t, tk, models.StateInTransit, "arrive_by")
	tk = tr.await(t, tk.ID, models.StateEscalated)
	tr.expect(t, tk, models.StateEscalated, "evidence_by")
	tr.act(t, models.RoleSeller, tk.ID, "evidence", map[string]any{"note": "nothing arrived at the warehouse"})
	tk = tr.await(t, tk.ID, models.StateClosed) // only the seller answered: decided for the seller
	if tk.Outcome != models.OutcomePlatformDeclined || tk.Escalation.Verdict != models.VerdictSupportSeller {
		t.Errorf("outcome %s verdict %+v", tk.Outcome, tk.Escalation)
	}
}

func tourLightningRecovery(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindReturnRefund, ReturnMethod: models.ReturnPickup, RequestedCents: 60000,
		PickupAddress: "1 Road", BuyerCredit: 3})
	tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.courier(t, tk.ID, models.CourierPickedUp)
	tk = tr.awaitThat(t, tk.ID, "in transit with the lightning refund sent", func(tk models.Ticket) bool {
		return tk.State == models.StateInTransit && len(tk.Refunds) > 0
	})
	if !tk.Flags.LightningRefund {
		t.Fatalf("no lightning refund: %+v", tk.Flags)
	}
	tr.payment(t, tk.ID, tk.Refunds[0].Key, models.RefundSucceeded)
	tk = tr.await(t, tk.ID, models.StateRecovering) // arrive_by passed with the money already paid
	tr.expect(t, tk, models.StateRecovering, "recover_by")
	tk = tr.await(t, tk.ID, models.StateEscalated)
	if !tk.Flags.WrittenOff || tk.RefundedCents != 60000 {
		t.Errorf("written_off %v refunded %d", tk.Flags.WrittenOff, tk.RefundedCents)
	}
}

func tourInspection(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindReturnRefund, ReturnMethod: models.ReturnSelfShip, RequestedCents: 60000})
	tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.act(t, models.RoleBuyer, tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": "SF456"})
	tr.courier(t, tk.ID, models.CourierDelivered)
	tk = tr.await(t, tk.ID, models.StateAwaitingInspection)
	tr.expect(t, tk, models.StateAwaitingInspection, "inspect_by")
	tk = tr.await(t, tk.ID, models.StateRefunding) // inspect_by passed: auto-pass, full refund
	tr.payment(t, tk.ID, tk.Refunds[0].Key, models.RefundSucceeded)
	tk = tr.await(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 60000 {
		t.Errorf("outcome %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	tk = tr.act(t, models.RoleBuyer, tk.ID, "evaluate", map[string]any{"score": 5, "comment": "fast"})
	if tk.Evaluation == nil || tk.Evaluation.Score != 5 {
		t.Errorf("evaluation %+v", tk.Evaluation)
	}
}

func tourExchange(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindExchange, ReturnMethod: models.ReturnSelfShip, ExchangeSKU: "SKU-L", ReasonCode: models.ReasonWrongItem})
	tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.act(t, models.RoleBuyer, tk.ID, "ship", map[string]any{"carrier": "YTO", "tracking_no": "YT1"})
	tr.courier(t, tk.ID, models.CourierDelivered)
	tr.await(t, tk.ID, models.StateAwaitingInspection)
	tk = tr.act(t, models.RoleSeller, tk.ID, "inspect", map[string]any{"result": "pass"})
	tr.expect(t, tk, models.StateReplacementShipping, "confirm_by")
	tk = tr.await(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeExchanged || !hasAction(tk, "auto_confirm") {
		t.Errorf("outcome %s", tk.Outcome)
	}
}

func tourRepair(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindRepair, ReturnMethod: models.ReturnSelfShip, ReasonCode: models.ReasonQuality})
	tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.act(t, models.RoleBuyer, tk.ID, "ship", map[string]any{"carrier": "SF", "tracking_no": "SF789"})
	tr.courier(t, tk.ID, models.CourierDelivered)
	tk = tr.await(t, tk.ID, models.StateRepairing)
	tr.expect(t, tk, models.StateRepairing, "repair_by")
	tr.await(t, tk.ID, models.StateEscalated)
}

func tourSwap(t *testing.T, tr *tour) {
	tk := tr.create(t, models.CreateTicket{Kind: models.KindExchange, ReturnMethod: models.ReturnSwapOnDelivery, ExchangeSKU: "SKU-L",
		PickupAddress: "1 Road", ReasonCode: models.ReasonDamaged})
	tk = tr.act(t, models.RoleSeller, tk.ID, "approve", map[string]any{})
	tr.expect(t, tk, models.StateAwaitingPickup, "pickup_by")
	tr.courier(t, tk.ID, models.CourierSwapCompleted)
	tk = tr.await(t, tk.ID, models.StateCompleted)
	if tk.Outcome != models.OutcomeSwapped {
		t.Errorf("outcome %s", tk.Outcome)
	}
	// Past evaluation_window an evaluation is refused with a clear 409, whether
	// the ticket's workflow has seen its window close yet or has finished. The
	// sleep waits for a wall-clock instant (the window's end), not for an event.
	time.Sleep(time.Until(tk.EndedAt.Add(actWindow + time.Second))) // evaluation_window is actWindow
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	code := request(t, http.MethodPost, tr.rt.apiURL+"/v1/tickets/"+tk.ID+"/evaluate", tr.keys[models.RoleBuyer],
		map[string]any{"score": 4}, &e)
	if code != http.StatusConflict || !strings.Contains(e.Error.Message, "evaluation window") {
		t.Fatalf("evaluate after the window: %d %+v", code, e)
	}
}
