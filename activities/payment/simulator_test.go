package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook/webhooktest"
	"github.com/aftersales/aftersales/models"
)

func newReceiver(t *testing.T) *webhooktest.Receiver[models.PaymentEvent] {
	return webhooktest.New[models.PaymentEvent](t, payment.WebhookPath)
}

func newSim(t *testing.T, r *webhooktest.Receiver[models.PaymentEvent]) *payment.Simulator {
	t.Helper()
	s := &payment.Simulator{Sender: r.Sender(), Delay: 10 * time.Millisecond}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func money(key string, cents int64) activities.MoneyRequest {
	return activities.MoneyRequest{Key: key, Purpose: models.PurposeRefund, TicketID: "T1", OrderID: "O1",
		AmountCents: cents, Currency: "CNY", PaidCents: 10000}
}

func TestSameKeyPaysOnce(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r)
	ctx := context.Background()
	a, err := s.Refund(ctx, money("T1:refund:1", 500))
	if err != nil || a.Status != models.RefundSent || a.ProviderRef == "" || a.Key != "T1:refund:1" {
		t.Fatalf("first: %+v, %v", a, err)
	}
	b, err := s.Refund(ctx, money("T1:refund:1", 500))
	if err != nil || b.ProviderRef != a.ProviderRef {
		t.Fatalf("second: %+v, %v", b, err)
	}
	if n := s.Payments(); n != 1 {
		t.Fatalf("Payments = %d, want 1", n)
	}
	ev := r.Next(t)
	want := models.PaymentEvent{EventID: a.ProviderRef + ":succeeded", TicketID: "T1", RefundKey: "T1:refund:1",
		Status: models.RefundSucceeded, ProviderRef: a.ProviderRef}
	if ev != want {
		t.Fatalf("event %+v, want %+v", ev, want)
	}
	s.Wait()
	r.None(t)
	led := s.Ledger("T1")
	if len(led) != 1 || led[0].Calls != 2 || led[0].Status != models.RefundSucceeded || led[0].Purpose != "refund" || led[0].AmountCents != 500 {
		t.Fatalf("ledger %+v", led)
	}
	if _, err := s.Refund(ctx, money("T1:refund:1", 900)); models.ErrorCode(err) != models.ECONFLICT {
		t.Fatalf("same key, other amount: %v", err)
	}
	if n := s.Payments(); n != 1 {
		t.Fatalf("Payments = %d after a conflicting call", n)
	}
}

func TestPurposes(t *testing.T) {
	s := &payment.Simulator{Mode: payment.ModeManual}
	defer s.Close()
	ctx := context.Background()
	calls := map[string]func(context.Context, activities.MoneyRequest) (activities.Receipt, error){
		"refund": s.Refund, "compensation": s.Compensate, "recovery": s.ChargeRecovery, "freight_insurance": s.ClaimFreightInsurance,
	}
	for purpose, call := range calls {
		if _, err := call(ctx, money("K:"+purpose, 100)); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range s.Ledger("") {
		if r.Key != "K:"+string(r.Purpose) || r.Status != models.RefundSent {
			t.Fatalf("record %+v", r)
		}
	}
	if s.Payments() != 4 {
		t.Fatalf("Payments = %d", s.Payments())
	}
}

func TestFailRateSendsFailed(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r)
	s.Faults.FailRate = 1
	a, err := s.Refund(context.Background(), money("T1:refund:1", 500))
	if err != nil {
		t.Fatal(err)
	}
	ev := r.Next(t)
	if ev.Status != models.RefundFailed || ev.Reason == "" || ev.EventID != a.ProviderRef+":failed" {
		t.Fatalf("event %+v", ev)
	}
	if got, found, err := s.Lookup(context.Background(), "T1:refund:1"); !found || err != nil || got.Status != models.RefundFailed {
		t.Fatalf("lookup %+v %v %v", got, found, err)
	}
}

func TestLookup(t *testing.T) {
	s := &payment.Simulator{Mode: payment.ModeManual}
	defer s.Close()
	ctx := context.Background()
	if _, found, err := s.Lookup(ctx, "nope"); found || err != nil {
		t.Fatalf("unknown key: %v %v", found, err)
	}
	a, _ := s.Refund(ctx, money("T1:refund:1", 500))
	if got, found, err := s.Lookup(ctx, "T1:refund:1"); !found || err != nil || got != a {
		t.Fatalf("lookup %+v %v %v, want %+v", got, found, err, a)
	}
}

func TestLostAnswerStillPays(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r)
	s.Faults.LoseAnswerRate = 1
	ctx := context.Background()
	if _, err := s.Refund(ctx, money("T1:refund:1", 500)); !errors.Is(err, payment.ErrAnswerLost) {
		t.Fatalf("err = %v", err)
	}
	if _, found, err := s.Lookup(ctx, "T1:refund:1"); !found || err != nil {
		t.Fatalf("lookup after a lost answer: %v %v", found, err)
	}
	if ev := r.Next(t); ev.Status != models.RefundSucceeded {
		t.Fatalf("event %+v", ev)
	}
	if s.Payments() != 1 {
		t.Fatalf("Payments = %d", s.Payments())
	}
}

func TestErrorRatePaysNothing(t *testing.T) {
	s := &payment.Simulator{Mode: payment.ModeManual}
	defer s.Close()
	s.Faults.ErrorRate = 1
	if _, err := s.Refund(context.Background(), money("T1:refund:1", 500)); !errors.Is(err, payment.ErrInjected) {
		t.Fatalf("err = %v", err)
	}
	if s.Payments() != 0 || len(s.Ledger("")) != 0 {
		t.Fatal("an injected error before acting must pay nothing")
	}
}

func TestDuplicateWebhook(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r)
	s.Faults.DuplicateRate = 1
	if _, err := s.Refund(context.Background(), money("T1:refund:1", 500)); err != nil {
		t.Fatal(err)
	}
	if a, b := r.Next(t), r.Next(t); a != b {
		t.Fatalf("duplicates differ: %+v %+v", a, b)
	}
}

func TestManualModeAndSettle(t *testing.T) {
	r := newReceiver(t)
	s := newSim(t, r)
	s.Mode = payment.ModeManual
	a, _ := s.Refund(context.Background(), money("T1:refund:1", 500))
	s.Wait()
	r.None(t)
	ev, err := s.Settle("T1:refund:1", models.RefundSucceeded, "")
	if err != nil || ev.EventID != a.ProviderRef+":succeeded" || ev.Validate() != nil {
		t.Fatalf("settle %+v %v", ev, err)
	}
	if _, err := s.Settle("unknown", models.RefundSucceeded, ""); err == nil {
		t.Fatal("settling an unknown key must fail")
	}
}

func TestLedgerHandler(t *testing.T) {
	s := &payment.Simulator{Mode: payment.ModeManual}
	defer s.Close()
	ctx := context.Background()
	_, _ = s.Refund(ctx, money("T1:refund:2", 200))
	_, _ = s.Refund(ctx, money("T1:refund:1", 100))
	_, _ = s.Refund(ctx, money("T1:refund:1", 100))
	other := money("T2:refund:1", 300)
	other.TicketID = "T2"
	_, _ = s.Refund(ctx, other)
	srv := httptest.NewServer(s)
	defer srv.Close()

	get := func(q string) []map[string]any {
		resp, err := http.Get(srv.URL + "/sim/payments" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var out struct {
			Refunds []map[string]any `json:"refunds"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Refunds
	}
	t1 := get("?ticket_id=T1")
	if len(t1) != 2 || t1[0]["key"] != "T1:refund:1" || t1[1]["key"] != "T1:refund:2" {
		t.Fatalf("T1 ledger %+v", t1)
	}
	for _, f := range []string{"key", "amount_cents", "purpose", "status", "provider_ref", "ticket_id", "order_id", "calls"} {
		if _, ok := t1[0][f]; !ok {
			t.Fatalf("field %s missing from %+v", f, t1[0])
		}
	}
	if t1[0]["calls"] != float64(2) || t1[0]["amount_cents"] != float64(100) || t1[0]["status"] != "sent" {
		t.Fatalf("record %+v", t1[0])
	}
	if all := get(""); len(all) != 3 {
		t.Fatalf("all %+v", all)
	}
	if none := get("?ticket_id=T9"); none == nil || len(none) != 0 {
		t.Fatalf("unknown ticket: %+v", none)
	}
	resp, err := http.Post(srv.URL+"/sim/payments", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

func TestCloseStopsPendingSettlements(t *testing.T) {
	r := newReceiver(t)
	s := &payment.Simulator{Sender: r.Sender(), Delay: time.Hour}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if _, err := s.Refund(context.Background(), money(k, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Pending(); n != 5 {
		t.Fatalf("%d settlements pending, want 5", n)
	}
	_ = s.Close() // returns once every goroutine has; if one does not stop, the test hangs to its deadline
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d settlements pending after Close", n)
	}
	if _, err := s.Refund(context.Background(), money("f", 1)); !errors.Is(err, payment.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	r.None(t)
}

// With a LedgerFile the ledger outlives the simulator: a new one finds the key and
// does not pay it again, and settles what was still sent.
func TestLedgerFileSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "payments.json")
	req := activities.MoneyRequest{Key: "T9:refund:1", TicketID: "T9", OrderID: "O9", AmountCents: 500, Currency: "CNY"}
	first := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: file}
	if _, err := first.Refund(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: file}
	defer second.Close()
	r, found, err := second.Lookup(context.Background(), req.Key)
	if err != nil || !found || r.Status != models.RefundSent {
		t.Fatalf("after restart: %+v found %v err %v", r, found, err)
	}
	if _, err := second.Refund(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := second.Payments(); got != 1 {
		t.Errorf("payments after a repeated key across a restart: %d, want 1", got)
	}
	if _, err := second.Settle(req.Key, models.RefundSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	third := &payment.Simulator{Mode: payment.ModeManual, LedgerFile: file}
	defer third.Close()
	if r, _, _ := third.Lookup(context.Background(), req.Key); r.Status != models.RefundSucceeded {
		t.Errorf("settled status not kept: %+v", r)
	}
}
