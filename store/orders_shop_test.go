package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// Two shops that number their orders alike (DESIGN §2 Trust: an order is
// (shop, order id)) each have their own record, tickets, refund cap and ledger
// entries; neither blocks, reads or changes the other's.
func TestOrdersKeyedByShop(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		put := func(shop string, paid int64) {
			t.Helper()
			o := models.Order{OrderID: "1001", OrderFacts: models.OrderFacts{ShopID: shop, BuyerID: "b-" + shop,
				PaidCents: paid, Currency: "CNY", PaidAt: base}}
			o.Normalize()
			if _, created, err := db.PutOrder(ctx, o); err != nil || !created {
				t.Fatalf("register 1001 at %s: created %v, %v", shop, created, err)
			}
		}
		put("shop-a", 5000)
		put("shop-b", 8000)
		for shop, paid := range map[string]int64{"shop-a": 5000, "shop-b": 8000} {
			o, err := db.GetOrder(ctx, shop, "1001")
			if err != nil || o.ShopID != shop || o.PaidCents != paid || o.BuyerID != "b-"+shop {
				t.Errorf("%s's 1001 = %+v, %v", shop, o, err)
			}
		}
		// An unknown shop's 1001 is answered in the same words as an id no one has.
		_, err := db.GetOrder(ctx, "shop-c", "1001")
		wantCode(t, err, models.ENOTFOUND, models.ErrorMessage(models.UnknownOrder("shop-c", "1001")))

		// A ticket on shop-a's 1001 fixes shop-a's paid amount only.
		tk := ticket("TA", "shop-a", models.StatePendingReview, base, 1)
		tk.OrderID = "1001"
		mustSave(t, db, tk)
		a, _ := db.GetOrder(ctx, "shop-a", "1001")
		b, _ := db.GetOrder(ctx, "shop-b", "1001")
		if len(a.TicketIDs) != 1 || len(b.TicketIDs) != 0 {
			t.Errorf("tickets: shop-a %v, shop-b %v; want [TA] and none", a.TicketIDs, b.TicketIDs)
		}
		changed := b
		changed.PaidCents = 9000
		if _, _, err := db.PutOrder(ctx, changed); err != nil {
			t.Errorf("shop-b changes the paid amount of its ticketless 1001: %v", err)
		}

		// Each order's cap is its own: shop-a's whole 5000 refunded leaves shop-b's 9000.
		reserve := func(key, shop string, amount, paid int64) error {
			_, err := db.ReserveRefund(ctx, RefundReservation{Key: key, TicketID: "T-" + shop, ShopID: shop, OrderID: "1001",
				AmountCents: amount, Currency: "CNY", Purpose: models.PurposeRefund, PaidCents: paid})
			return err
		}
		if err := reserve("a:refund:1", "shop-a", 5000, 5000); err != nil {
			t.Fatal(err)
		}
		if err := reserve("b:refund:1", "shop-b", 9000, 9000); err != nil {
			t.Fatalf("shop-b's refund within its own order: %v", err)
		}
		if err := reserve("a:refund:2", "shop-a", 1, 5000); models.ErrorCode(err) != models.ECONFLICT {
			t.Errorf("over shop-a's cap: %v, want ECONFLICT", err)
		}
		for shop, want := range map[string][2]int64{"shop-a": {5000, 5000}, "shop-b": {9000, 9000}} {
			r, p, err := db.OrderRefundTotal(ctx, shop, "1001")
			if err != nil || r != want[0] || p != want[1] {
				t.Errorf("%s's total: %d reserved of %d paid, %v; want %v", shop, r, p, err, want)
			}
		}
		row, err := db.MarkRefund(ctx, "b:refund:1", models.RefundSucceeded, "p-b")
		if err != nil || row.ShopID != "shop-b" || row.OrderOverCents != 0 {
			t.Errorf("shop-b's refund paid: %+v, %v; want shop-b, not over", row, err)
		}
	})
}

// A reservation that names no shop (a workflow's activity scheduled before
// orders were keyed by shop, retried after the upgrade) takes its ticket's shop,
// or, for a compensation, the shop of the order record.
func TestReservationWithoutShop(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		tk := ticket("T9", "shop-9", models.StatePendingReview, base, 1)
		tk.OrderID = "O9"
		mustSave(t, db, tk)
		row, err := db.ReserveRefund(ctx, RefundReservation{Key: "T9:refund:1", TicketID: "T9", OrderID: "O9",
			AmountCents: 100, Currency: "CNY", Purpose: models.PurposeRefund, PaidCents: 1000})
		if err != nil || row.ShopID != "shop-9" {
			t.Fatalf("reserved %+v, %v; want the ticket's shop", row, err)
		}
		if r, _, err := db.OrderRefundTotal(ctx, "shop-9", "O9"); err != nil || r != 100 {
			t.Errorf("shop-9's O9 holds %d (%v), want 100", r, err)
		}
		o := models.Order{OrderID: "O10", OrderFacts: models.OrderFacts{ShopID: "shop-10", BuyerID: "b", PaidCents: 1000, Currency: "CNY", PaidAt: base}}
		o.Normalize()
		if _, _, err := db.PutOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		row, err = db.ReserveRefund(ctx, RefundReservation{Key: "order-O10:compensation:1", TicketID: "shipping-watch-O10",
			OrderID: "O10", AmountCents: 300, Currency: "CNY", Purpose: models.PurposeCompensate, PaidCents: 1000})
		if err != nil || row.ShopID != "shop-10" {
			t.Fatalf("compensation reserved %+v, %v; want the order's shop", row, err)
		}
		_, err = db.ReserveRefund(ctx, RefundReservation{Key: "T404:refund:1", TicketID: "T404", OrderID: "O404",
			AmountCents: 300, Currency: "CNY", Purpose: models.PurposeRefund, PaidCents: 1000})
		if models.ErrorCode(err) != models.EINVALID {
			t.Errorf("no shop anywhere: %v, want EINVALID", err)
		}
	})
}

// A database written before orders were keyed by shop (schema 6) keeps every
// record, entry and cap, each now naming its shop, and goes on capping by it.
func TestUpgradeKeysOrdersByShop(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.migrateThrough(ctx, 6); err != nil {
			t.Fatalf("migrate to 6: %v", err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.Gorm().Exec(q, args...).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// Rows as a schema 6 binary wrote them.
		exec(`INSERT INTO tickets (id, order_id, shop_id, buyer_id, kind, state, seq, created_at, updated_at, view)
			VALUES ('T1', 'O1', 'shop-1', 'b1', 'return_refund', 'refunding', 1, ?, ?, '{}')`, dbTime{base}, dbTime{base})
		exec(`INSERT INTO orders (order_id, shop_id, buyer_id, paid_cents, currency, paid_at, freight_insurance, self_operated, items, created_at, updated_at)
			VALUES ('O1', 'shop-1', 'b1', 5000, 'CNY', ?, FALSE, FALSE, '[]', ?, ?), ('O2', 'shop-2', 'b2', 7000, 'CNY', ?, FALSE, FALSE, '[]', ?, ?)`,
			dbTime{base}, dbTime{base}, dbTime{base}, dbTime{base}, dbTime{base}, dbTime{base})
		exec(`INSERT INTO refunds (refund_key, ticket_id, order_id, amount_cents, currency, purpose, status, created_at, updated_at)
			VALUES ('T1:refund:1', 'T1', 'O1', 4000, 'CNY', 'refund', 'sent', ?, ?), ('order-O2:compensation:1', 'shipping-watch-O2', 'O2', 2100, 'CNY', 'compensation', 'succeeded', ?, ?)`,
			dbTime{base}, dbTime{base}, dbTime{base}, dbTime{base})
		exec(`INSERT INTO order_refund_totals (order_id, paid_cents, reserved_cents) VALUES ('O1', 5000, 4000)`)

		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != LatestSchemaVersion()-6 {
			t.Fatalf("upgrade applied %v, %v", applied, err)
		}
		for key, shop := range map[string]string{"T1:refund:1": "shop-1", "order-O2:compensation:1": "shop-2"} {
			if row, err := db.GetRefund(ctx, key); err != nil || row.ShopID != shop {
				t.Errorf("%s after the upgrade: %+v, %v; want shop %s", key, row, err, shop)
			}
		}
		if r, p, err := db.OrderRefundTotal(ctx, "shop-1", "O1"); err != nil || r != 4000 || p != 5000 {
			t.Errorf("O1's cap after the upgrade: %d of %d, %v; want 4000 of 5000", r, p, err)
		}
		for _, o := range [][2]string{{"shop-1", "O1"}, {"shop-2", "O2"}} {
			if _, err := db.GetOrder(ctx, o[0], o[1]); err != nil {
				t.Errorf("order %s of %s after the upgrade: %v", o[1], o[0], err)
			}
		}
		// The cap still holds: 1001 cents more than the 1000 left is refused.
		_, err = db.ReserveRefund(ctx, RefundReservation{Key: "T1:refund:2", TicketID: "T1", ShopID: "shop-1", OrderID: "O1",
			AmountCents: 1001, Currency: "CNY", Purpose: models.PurposeRefund, PaidCents: 5000})
		if models.ErrorCode(err) != models.ECONFLICT {
			t.Errorf("over O1's cap after the upgrade: %v, want ECONFLICT", err)
		}
		// And another shop may now register O1 of its own.
		o := models.Order{OrderID: "O1", OrderFacts: models.OrderFacts{ShopID: "shop-2", BuyerID: "b2", PaidCents: 100, Currency: "CNY", PaidAt: base}}
		o.Normalize()
		if _, created, err := db.PutOrder(ctx, o); err != nil || !created {
			t.Errorf("shop-2 registers its own O1: created %v, %v", created, err)
		}
	})
}

// RMA numbers count per shop, are given once per ticket (a retried create
// gets its own again), and never twice within a shop, even at once.
func TestAssignRMA(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		assign := func(shop, ticket string) string {
			t.Helper()
			rma, err := db.AssignRMA(ctx, shop, ticket)
			if err != nil {
				t.Fatal(err)
			}
			return rma
		}
		if got := assign("s1", "T1"); got != "s1-000001" {
			t.Errorf("the first of s1: %s", got)
		}
		if got := assign("s2", "T2"); got != "s2-000001" {
			t.Errorf("the first of s2: %s", got)
		}
		if got := assign("s1", "T3"); got != "s1-000002" {
			t.Errorf("the second of s1: %s", got)
		}
		if got := assign("s1", "T1"); got != "s1-000001" {
			t.Errorf("T1 again: %s, want its own s1-000001", got)
		}
		const n = 8
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rma, err := db.AssignRMA(ctx, "s3", fmt.Sprintf("R%d", i))
				if err != nil {
					t.Error(err)
				}
				got[i] = rma
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, r := range got {
			if seen[r] || !strings.HasPrefix(r, "s3-00000") {
				t.Errorf("numbers given at once: %v", got)
				break
			}
			seen[r] = true
		}
		// The tickets' column lists filter on.
		tk := ticket("T9", "s9", models.StatePendingReview, base, 1)
		tk.RMA = assign("s9", "T9")
		mustSave(t, db, tk)
		page, err := db.ListTickets(ctx, models.TicketFilter{ShopID: "s9", RMA: tk.RMA})
		if err != nil || len(page.Tickets) != 1 || page.Tickets[0].RMA != "s9-000001" {
			t.Errorf("list by rma: %+v, %v", page.Tickets, err)
		}
	})
}
