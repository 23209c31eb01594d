package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// cupsAndCake registers order id of shop-h: three cups and a cake.
func cupsAndCake(t *testing.T, db *DB, id string) {
	t.Helper()
	o := models.Order{OrderID: id, OrderFacts: models.OrderFacts{ShopID: "shop-h", BuyerID: "b", PaidCents: 5000, Currency: "CNY", PaidAt: base,
		Items: []models.Item{{SKU: "CUP", Qty: 3, UnitPaidCents: 1000}, {SKU: "CAKE", Qty: 1, UnitPaidCents: 2000}}}}
	o.Normalize()
	if _, _, err := db.PutOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

// Units of an order's lines across its tickets (DESIGN §2): open tickets and
// tickets that moved money or goods hold theirs, one closed with nothing moved
// gives them back, a ticket from before holds were kept holds the lines it
// names, a create that never reached the read model holds for PendingHoldLife,
// and a refusal names the ticket that holds the units.
func TestHoldUnits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		cupsAndCake(t, db, "O1")
		hold := func(ticket string, at time.Time, lines ...models.Item) error {
			return db.HoldUnits(ctx, "shop-h", "O1", ticket, lines, at)
		}
		cups := func(n int) models.Item { return models.Item{SKU: "CUP", Qty: n} }
		if err := hold("T1", base, cups(2)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, hold("T2", base, cups(2)), models.ECONFLICT, "2 of the 3 units of sku CUP are held by ticket T1")
		if err := hold("T1", base, cups(2)); err != nil {
			t.Errorf("T1's create again: %v", err)
		}
		if err := hold("T2", base, cups(1)); err != nil {
			t.Fatalf("the last cup: %v", err)
		}
		wantCode(t, hold("T3", base, cups(1)), models.ECONFLICT, "held by ticket T1")

		// T1 was withdrawn with nothing moved: its two cups go back.
		t1 := ticket("T1", "shop-h", models.StateClosed, base, 3)
		t1.OrderID, t1.Outcome, t1.Items = "O1", models.OutcomeWithdrawn, []models.Item{cups(2)}
		mustSave(t, db, t1)
		if err := hold("T3", base, cups(2)); err != nil {
			t.Fatalf("the cups T1 gave back: %v", err)
		}
		// A ticket that ended with money moved keeps them.
		t3 := ticket("T3", "shop-h", models.StateCompleted, base, 9)
		t3.OrderID, t3.Outcome, t3.RefundedCents, t3.Items = "O1", models.OutcomeRefunded, 2000, []models.Item{cups(2)}
		mustSave(t, db, t3)
		wantCode(t, hold("T4", base, cups(1)), models.ECONFLICT, "")

		// A ticket from before holds names the cake and is open: it holds it.
		legacy := ticket("L1", "shop-h", models.StateAwaitingInspection, base, 5)
		legacy.OrderID, legacy.Items = "O1", []models.Item{{SKU: "CAKE", Qty: 1, UnitPaidCents: 2000}}
		mustSave(t, db, legacy)
		wantCode(t, hold("T5", base, models.Item{SKU: "CAKE", Qty: 1}), models.ECONFLICT, "held by ticket L1")

		// T2 never reached the read model: after PendingHoldLife its cup is free.
		wantCode(t, hold("T6", base.Add(time.Minute), cups(1)), models.ECONFLICT, "3 of the 3 units of sku CUP")
		if err := hold("T6", base.Add(PendingHoldLife+time.Minute), cups(1)); err != nil {
			t.Errorf("a cup held by a create that never started, an hour on: %v", err)
		}
		// A ticket never started gives its units back at once.
		if err := db.ReleaseUnits(ctx, "T6"); err != nil {
			t.Fatal(err)
		}
		if err := hold("T7", base.Add(PendingHoldLife+time.Minute), cups(1)); err != nil {
			t.Errorf("the cup of a released ticket: %v", err)
		}
	})
}

// Two tickets racing for the last unit: exactly one holds it.
func TestHoldUnitsRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		cupsAndCake(t, db, "O2")
		const racers = 6
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.HoldUnits(context.Background(), "shop-h", "O2", "R"+string(rune('a'+i)), []models.Item{{SKU: "CAKE", Qty: 1}}, base)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case models.ErrorCode(err) != models.ECONFLICT:
				t.Errorf("a racer: %v, want a hold or ECONFLICT", err)
			}
		}
		if won != 1 {
			t.Errorf("%d racers hold the one cake, want 1 (%v)", won, errs)
		}
	})
}
