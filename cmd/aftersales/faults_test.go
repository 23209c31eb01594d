package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// faultCase is one row of the fault matrix: provider faults, and whether the whole
// runtime (server, worker, API) is stopped and restarted while money is in flight.
type faultCase struct {
	name    string
	courier func(*courier.Faults)
	payment func(*payment.Faults)
	crash   bool
	// declinesAllowed: the provider may declare refunds failed, so a ticket may end
	// escalated after refund_attempts failures instead of refunded.
	declinesAllowed bool
}

var faultMatrix = []faultCase{
	{name: "no faults"},
	// Transient: the calls for one key (a money key, a ticket's booking) fail
	// at most twice. A provider down for longer is outage_test.go's: here every
	// effect gets through within its retries, whatever order the tickets' calls
	// come in (the draws are seeded; which call gets which depends on the
	// interleaving, and eight failed attempts of one effect end its retries).
	{name: "30% transient errors", courier: func(f *courier.Faults) { f.ErrorRate, f.MaxPerKey = 0.3, 2 },
		payment: func(f *payment.Faults) { f.ErrorRate, f.MaxPerKey = 0.3, 2 }},
	{name: "answers lost after acting", courier: func(f *courier.Faults) { f.LoseAnswerRate = 0.3 }, payment: func(f *payment.Faults) { f.LoseAnswerRate = 0.3 }},
	{name: "every webhook twice", courier: func(f *courier.Faults) { f.DuplicateRate = 1 }, payment: func(f *payment.Faults) { f.DuplicateRate = 1 }},
	{name: "delivered before picked_up", courier: func(f *courier.Faults) { f.Reorder = true }},
	{name: "30% declined refunds", payment: func(f *payment.Faults) { f.FailRate = 0.3 }, declinesAllowed: true},
	{name: "runtime restarted mid-flight", crash: true, payment: func(f *payment.Faults) { f.LoseAnswerRate = 0.2 }},
}

const faultTickets = 12

func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("fault matrix runs the whole runtime; skipped with -short")
	}
	for i, fc := range faultMatrix {
		t.Run(fc.name, func(t *testing.T) { runFaultCase(t, fc, int64(i+1)) })
	}
}

func runFaultCase(t *testing.T, fc faultCase, seed int64) {
	dir := t.TempDir()
	secrets, err := loadWebhookSecrets(filepath.Join(dir, "webhook-courier.secret"), filepath.Join(dir, "webhook-payment.secret"), true)
	if err != nil {
		t.Fatal(err)
	}
	d := testDevFlags(t, dir)
	// The providers outlive the runtime, as real ones do across our restarts, and
	// reach it through a front whose address does not change when it restarts.
	// Like a real provider they retry a webhook for as long as they run (until
	// the simulators close), not for a fixed budget a slow restart could outlast.
	webhooks := newFront(t)
	cour := &courier.Simulator{Sender: &webhook.Sender{URL: webhooks.URL, Keys: secrets.courier, Tries: math.MaxInt}, Delay: 100 * time.Millisecond, Faults: courier.Faults{Seed: seed}}
	pay := &payment.Simulator{Sender: &webhook.Sender{URL: webhooks.URL, Keys: secrets.payment, Tries: math.MaxInt}, Delay: 100 * time.Millisecond, Faults: payment.Faults{Seed: seed}}
	if fc.courier != nil {
		fc.courier(&cour.Faults)
	}
	if fc.payment != nil {
		fc.payment(&pay.Faults)
	}
	defer cour.Close()
	defer pay.Close()
	d.providers.injectedCourier, d.providers.injectedPayment = cour, pay

	rt, err := startDev(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Stop() }()
	if !fc.crash {
		webhooks.point(t, rt.apiURL)
	}
	platform := keyOf(rt.keys, models.RolePlatform)

	var ids []string
	for i := range faultTickets {
		// The platform opens them, stating the order and the buyer's credit (which
		// registers both records); one buyer each, so that none has recent returns.
		c := models.CreateTicket{OrderID: fmt.Sprintf("fault-%d", i), ShopID: "shop-1", BuyerID: fmt.Sprintf("buyer-f%d", i),
			ReasonCode: models.ReasonQuality, BuyerCredit: 3, Order: models.OrderInfo{PaidCents: 20000, PaidAt: time.Now().UTC()}}
		if i%2 == 0 { // refunded at once after fast review
			c.Kind, c.RequestedCents = models.KindRefundOnly, 15000
		} else { // fast-reviewed pickup, lightning refund at pickup
			c.Kind, c.ReturnMethod, c.RequestedCents, c.PickupAddress = models.KindReturnRefund, models.ReturnPickup, 20000, "1 Road"
		}
		var tk models.Ticket
		if code := request(t, http.MethodPost, rt.apiURL+"/v1/tickets", platform, c, &tk); code != http.StatusCreated {
			t.Fatalf("create %d: status %d", i, code)
		}
		ids = append(ids, tk.ID)
	}
	if fc.crash {
		// Crash with money in flight: the front holds every webhook back (the
		// providers retry them), so once the provider has made a payment, its
		// confirmation cannot have reached the ticket before the crash.
		waitFor(t, rt.served, "a payment made", func() (bool, string) {
			return pay.Payments() > 0, fmt.Sprintf("%d payments", pay.Payments())
		})
		rt.Stop()
		if rt, err = startDev(context.Background(), d); err != nil {
			t.Fatalf("restart: %v", err)
		}
		webhooks.point(t, rt.apiURL)
	}

	final := waitAllEnded(t, rt, platform, ids)
	checkMoney(t, fc, final, pay, cour.Faults.Injected()+pay.Faults.Injected())
}

// waitAllEnded polls until every ticket is completed or escalated; a ticket
// that never ends is reported with its timeline.
func waitAllEnded(t *testing.T, rt *devRuntime, key string, ids []string) map[string]models.Ticket {
	t.Helper()
	out := map[string]models.Ticket{}
	last := map[string]models.Ticket{}
	defer func() {
		if len(out) == len(ids) {
			return
		}
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				tk := last[id]
				t.Logf("stuck %s in %s: refunds %+v", id, tk.State, tk.Refunds)
				for _, e := range tk.Timeline {
					t.Logf("  %d %s %s %s→%s %s", e.Seq, e.At.Format("15:04:05.000"), e.Action, e.From, e.To, e.Note)
				}
			}
		}
	}()
	waitFor(t, rt.served, "every ticket ended", func() (bool, string) {
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			var tk models.Ticket
			request(t, http.MethodGet, rt.apiURL+"/v1/tickets/"+id, key, nil, &tk)
			last[id] = tk
			switch tk.State {
			case models.StateCompleted, models.StateEscalated:
				out[id] = tk
			case models.StateClosed: // never completes: fail now, not at the test's deadline
				t.Fatalf("%s closed (%s): %+v", id, tk.Outcome, tk.Timeline)
			}
		}
		return len(out) == len(ids), fmt.Sprintf("%d of %d tickets ended", len(out), len(ids))
	})
	return out
}

// checkMoney compares our tickets with the provider's ledger: exactly one payment
// per key, at most one succeeded refund per ticket, and the amounts add up.
func checkMoney(t *testing.T, fc faultCase, final map[string]models.Ticket, pay *payment.Simulator, injected int) {
	t.Helper()
	var calls, keys, escalated int
	for id, tk := range final {
		succeeded := int64(0)
		records := pay.Ledger(id)
		keys += len(records)
		for _, r := range records {
			calls += r.Calls
			if r.Purpose == models.PurposeRefund && r.Status == models.RefundSucceeded {
				succeeded += r.AmountCents
			}
		}
		switch {
		case tk.State == models.StateCompleted:
			if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != tk.RequestedCents || succeeded != tk.RequestedCents {
				t.Errorf("%s: outcome %s refunded %d (provider %d), want refunded %d", id, tk.Outcome, tk.RefundedCents, succeeded, tk.RequestedCents)
			}
		case fc.declinesAllowed && tk.Flags.Escalated && succeeded == 0:
			escalated++
		default:
			t.Errorf("%s ended %s (outcome %s, provider paid %d)", id, tk.State, tk.Outcome, succeeded)
		}
		if len(records) != len(tk.Refunds) {
			t.Errorf("%s: provider has %d keys, ticket %d", id, len(records), len(tk.Refunds))
		}
	}
	duplicates := pay.Payments() - keys
	if duplicates != 0 {
		t.Errorf("provider made %d payments for %d keys: %d duplicate payments", pay.Payments(), keys, duplicates)
	}
	t.Logf("fault matrix | %-30s | tickets %d | injected faults %d | keys %d | provider pay calls %d | escalated %d | duplicate payments %d",
		fc.name, len(final), injected, keys, calls, escalated, duplicates)
}
