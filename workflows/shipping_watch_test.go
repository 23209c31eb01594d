package workflows

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/models"
)

func watchInput(orderID string, paidCents int64, selfOperated bool, paidAt time.Time) ShippingWatchInput {
	p := models.DefaultPolicy()
	return ShippingWatchInput{OrderID: orderID, ShopID: shopID, BuyerID: buyerID, PaidCents: paidCents,
		Currency: "CNY", PaidAt: paidAt, SelfOperated: selfOperated, ShipDeadline: p.ShipDeadline,
		Rule: p.ShippingCompensation, NamedByShop: true}
}

// watchHarness gives the scripted callbacks of a watch its environment.
type watchHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
}

// The delayed-shipment watch (延迟发货赔付): shipped in time → nothing paid; not
// shipped within ship_deadline (48 h) → 30 % of the paid amount capped at 500 CNY
// (self-operated: 5 CNY), paid exactly once under order-<id>@<shop>:compensation:1, and
// compensated once the provider confirms it (its webhook, 10 minutes later here).
func TestShippingWatch(t *testing.T) {
	shipped := func(h *watchHarness) { h.env.SignalWorkflow(SignalShipped, nil) }
	cases := []struct {
		name         string
		paid         int64
		selfOperated bool
		paidAt       time.Time
		steps        map[time.Duration]func(*watchHarness)
		state        string
		compensation int64
		endsAt       time.Duration
	}{
		{name: "shipped before the deadline", paid: 100_000, paidAt: t0,
			steps: map[time.Duration]func(*watchHarness){47 * time.Hour: shipped},
			state: WatchShipped, endsAt: 47 * time.Hour},
		{name: "shipped a second before the deadline", paid: 100_000, paidAt: t0,
			steps: map[time.Duration]func(*watchHarness){48*time.Hour - sec: shipped},
			state: WatchShipped, endsAt: 48*time.Hour - sec},
		{name: "not shipped: 30 percent", paid: 100_000, paidAt: t0,
			state: WatchCompensated, compensation: 30_000, endsAt: 48 * time.Hour},
		{name: "not shipped: capped at 500 CNY", paid: 200_000, paidAt: t0,
			state: WatchCompensated, compensation: 50_000, endsAt: 48 * time.Hour},
		{name: "not shipped: cap reached exactly", paid: 166_667, paidAt: t0,
			state: WatchCompensated, compensation: 50_000, endsAt: 48 * time.Hour},
		{name: "not shipped: self-operated shop pays 5 CNY", paid: 200_000, selfOperated: true, paidAt: t0,
			state: WatchCompensated, compensation: 500, endsAt: 48 * time.Hour},
		{name: "shipped after the deadline: compensation stands", paid: 10_000, paidAt: t0,
			steps: map[time.Duration]func(*watchHarness){49 * time.Hour: shipped},
			state: WatchCompensated, compensation: 3_000, endsAt: 48 * time.Hour},
		{name: "watch started after the deadline", paid: 10_000, paidAt: t0.Add(-72 * time.Hour),
			state: WatchCompensated, compensation: 3_000, endsAt: 0},
		{name: "paid 36 hours before the watch started", paid: 10_000, paidAt: t0.Add(-36 * time.Hour),
			state: WatchCompensated, compensation: 3_000, endsAt: 12 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes()
			in := watchInput("O77", c.paid, c.selfOperated, c.paidAt)
			var end time.Time
			const k = "order-O77@" + shopID + ":compensation:1"
			if c.state == WatchCompensated {
				c.endsAt += 10 * time.Minute // the provider's webhook confirms it then
				if c.steps == nil {
					c.steps = map[time.Duration]func(*watchHarness){}
				}
				c.steps[c.endsAt] = providerAnswers(f, k, models.RefundSucceeded)
			}
			w := runWatchAt(t, f, in, c.steps, &end)
			eq(t, "state", w.State, c.state)
			eq(t, "compensation", w.CompensationCents, c.compensation)
			eq(t, "ship_by", w.ShipBy, c.paidAt.Add(48*time.Hour))
			eq(t, "ended at", end.Sub(t0), c.endsAt)
			if c.state == WatchShipped {
				eq(t, "shipped_at", *w.ShippedAt, t0.Add(c.endsAt))
				eq(t, "provider keys", len(f.pay.keys()), 0)
				eq(t, "ledger rows", len(f.ledger.keys()), 0)
				return
			}
			eq(t, "key", w.CompensationKey, k)
			eq(t, "payment status", w.PaymentStatus, models.RefundSucceeded)
			eq(t, "provider keys", len(f.pay.keys()), 1)
			wantOneCallPerKey(t, f, k)
			if m := f.pay.methodsFor(k); len(m) != 1 || m[0] != "compensate" {
				t.Errorf("paid through %v, want one Compensate", m)
			}
			req, _ := f.pay.request(k)
			eq(t, "paid amount", req.AmountCents, c.compensation)
			eq(t, "purpose", req.Purpose, "compensation")
			eq(t, "order", req.OrderID, "O77")
			row, ok := f.ledger.row(k)
			if !ok {
				t.Fatalf("no ledger row for %s", k)
			}
			eq(t, "ledger amount", row.AmountCents, c.compensation)
			eq(t, "ledger status", row.Status, models.RefundSucceeded)
			// Compensation is not a refund: it takes nothing from the order's refund cap.
			eq(t, "order refund reservation", f.ledger.reserved("O77"), 0)
		})
	}
}

// providerAnswers is the provider's webhook for key as the API delivers it: the
// ledger records it, then the watch is signalled.
func providerAnswers(f *fakes, key string, status models.MoneyStatus) func(*watchHarness) {
	return func(h *watchHarness) {
		f.pay.settle(key, status)
		_, _ = f.ledger.MarkRefund(context.Background(), key, status, "pay-"+key)
		h.env.SignalWorkflow(SignalPayment, models.PaymentEvent{EventID: "w-" + key + string(status), RefundKey: key, Status: status})
	}
}

// A compensation that fails after it was sent is looked up and paid again under
// a new key, never left failed; one the provider never answers is the
// platform's, and it is told; three failed keys end the watch
// compensation_failed, the platform told.
func TestShippingWatchSettles(t *testing.T) {
	k := func(n int) string { return fmt.Sprintf("order-O78@%s:compensation:%d", shopID, n) }
	run := func(t *testing.T, steps map[time.Duration]func(*watchHarness), f *fakes) ShippingWatch {
		var end time.Time
		return runWatchAt(t, f, watchInput("O78", 100_000, false, t0), steps, &end)
	}
	t.Run("failed after sent: paid again under a new key", func(t *testing.T) {
		f := newFakes()
		w := run(t, map[time.Duration]func(*watchHarness){
			48*time.Hour + time.Minute: providerAnswers(f, k(1), models.RefundFailed),
			48*time.Hour + time.Hour:   providerAnswers(f, k(2), models.RefundSucceeded),
		}, f)
		eq(t, "state", w.State, WatchCompensated)
		eq(t, "key", w.CompensationKey, k(2))
		if row, _ := f.ledger.row(k(1)); row.Status != models.RefundVoid {
			t.Errorf("the failed key is %s in the ledger, want void", row.Status)
		}
		wantOneCallPerKey(t, f, k(1), k(2))
	})
	t.Run("never answered: the platform is told, the watch shows it unsettled", func(t *testing.T) {
		f := newFakes()
		w := run(t, nil, f)
		eq(t, "state", w.State, WatchCompensating)
		eq(t, "payment status", w.PaymentStatus, models.RefundSent)
		if n := f.pay.lookupsFor(k(1)); n != compensationLookups {
			t.Errorf("%d lookups, want %d", n, compensationLookups)
		}
		if notes := f.notes.all(); len(notes) != 1 || !strings.Contains(notes[0].Message, k(1)) {
			t.Errorf("notices %+v, want one naming %s", notes, k(1))
		}
	})
	t.Run("every key fails: compensation_failed, the platform told", func(t *testing.T) {
		f := newFakes()
		steps := map[time.Duration]func(*watchHarness){}
		for n := 1; n <= compensationKeys; n++ {
			steps[48*time.Hour+time.Duration(n)*time.Hour] = providerAnswers(f, k(n), models.RefundFailed)
		}
		w := run(t, steps, f)
		eq(t, "state", w.State, WatchCompensationFailed)
		if notes := f.notes.all(); len(notes) != 1 || !strings.Contains(notes[0].Message, "pay it by hand") {
			t.Errorf("notices %+v", notes)
		}
		eq(t, "keys", len(f.pay.keys()), compensationKeys)
	})
}

// Two shops that number their orders alike each have their own watch, paid
// under keys of their own, each ledger entry naming its shop (DESIGN §2 Trust:
// an order is (shop, order id)); a watch started before orders were keyed by
// shop keeps the keys it was paying under.
func TestShippingWatchKeysNameTheShop(t *testing.T) {
	f := newFakes()
	paid := func(key string) map[time.Duration]func(*watchHarness) {
		return map[time.Duration]func(*watchHarness){48*time.Hour + time.Minute: providerAnswers(f, key, models.RefundSucceeded)}
	}
	var end time.Time
	for _, shop := range []string{"shop-a", "shop-b"} {
		in := watchInput("1001", 100_000, false, t0)
		in.ShopID = shop
		key := "order-1001@" + shop + ":compensation:1"
		w := runWatchAt(t, f, in, paid(key), &end)
		eq(t, shop+" key", w.CompensationKey, key)
		eq(t, shop+" state", w.State, WatchCompensated)
		row, ok := f.ledger.row(key)
		if !ok || row.ShopID != shop || row.OrderID != "1001" || row.TicketID != "shipping-watch-1001@"+shop {
			t.Errorf("%s ledger entry %+v (found %v), want shop %s, order 1001, watch shipping-watch-1001@%s", shop, row, ok, shop, shop)
		}
	}
	eq(t, "provider keys", len(f.pay.keys()), 2)

	legacy := watchInput("1002", 100_000, false, t0)
	legacy.NamedByShop = false
	const key = "order-1002:compensation:1"
	w := runWatchAs(t, LegacyShippingWatchWorkflowID("1002"), f, legacy, paid(key), &end)
	eq(t, "legacy key", w.CompensationKey, key)
	eq(t, "legacy state", w.State, WatchCompensated)
	wantOneCallPerKey(t, f, key)
}

// runWatchAt is runWatch that also reports when the workflow ended.
func runWatchAt(t *testing.T, f *fakes, in ShippingWatchInput, steps map[time.Duration]func(*watchHarness), end *time.Time) ShippingWatch {
	t.Helper()
	return runWatchAs(t, in.WorkflowID(), f, in, steps, end)
}

// runWatchAs is runWatchAt under the workflow id id.
func runWatchAs(t *testing.T, id string, f *fakes, in ShippingWatchInput, steps map[time.Duration]func(*watchHarness), end *time.Time) ShippingWatch {
	t.Helper()
	env := newEnv(t, f.activities())
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h := &watchHarness{t: t, env: env}
	for d, fn := range steps {
		fn := fn
		env.RegisterDelayedCallback(func() { fn(h) }, d)
	}
	env.ExecuteWorkflow("ShippingWatchWorkflow", in)
	if !env.IsWorkflowCompleted() {
		t.Fatalf("watch did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("watch failed: %v", err)
	}
	var w ShippingWatch
	if err := env.GetWorkflowResult(&w); err != nil {
		t.Fatalf("watch result: %v", err)
	}
	*end = env.Now()
	if err := f.pay.check(); err != nil {
		t.Error(err)
	}
	if err := f.ledger.check(0); err != nil {
		t.Error(err)
	}
	return w
}

// The watch answers its query while it waits.
func TestShippingWatchQuery(t *testing.T) {
	f := newFakes()
	env := newEnv(t, f.activities())
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryWatch)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		var w ShippingWatch
		if err := v.Get(&w); err != nil {
			t.Fatal(err)
		}
		eq(t, "state", w.State, WatchWatching)
		eq(t, "ship_by", w.ShipBy, t0.Add(48*time.Hour))
		eq(t, "compensation", w.CompensationCents, 0)
		env.SignalWorkflow(SignalShipped, nil)
	}, time.Hour)
	env.ExecuteWorkflow("ShippingWatchWorkflow", watchInput("O78", 10_000, false, t0))
	var w ShippingWatch
	if err := env.GetWorkflowResult(&w); err != nil {
		t.Fatal(err)
	}
	eq(t, "state", w.State, WatchShipped)
}

// A rule that comes to nothing (a 0 % policy, or an order of a few cents) pays
// nothing and does not fail the watch.
func TestShippingWatchNothingToPay(t *testing.T) {
	zero := watchInput("O79", 100_000, false, t0)
	zero.Rule.Percent = 0
	tiny := watchInput("O80", 3, false, t0)
	selfZero := watchInput("O81", 100_000, true, t0)
	selfZero.Rule.SelfOperatedCents = 0
	for name, in := range map[string]ShippingWatchInput{"0 percent": zero, "3 cents paid": tiny, "self-operated 0": selfZero} {
		t.Run(name, func(t *testing.T) {
			f := newFakes()
			var end time.Time
			w := runWatchAt(t, f, in, nil, &end)
			eq(t, "state", w.State, WatchCompensated)
			eq(t, "compensation", w.CompensationCents, 0)
			eq(t, "key", w.CompensationKey, "")
			eq(t, "provider keys", len(f.pay.keys()), 0)
			eq(t, "ledger rows", len(f.ledger.keys()), 0)
		})
	}
}
