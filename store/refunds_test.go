package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/aftersales/aftersales/models"
)

func reservation(key, order string, amount, paid int64) RefundReservation {
	return RefundReservation{Key: key, TicketID: "T1", ShopID: "shop-1", OrderID: order, AmountCents: amount,
		Currency: "CNY", Purpose: models.PurposeRefund, PaidCents: paid}
}

func wantTotal(t *testing.T, db *DB, order string, reserved, paid int64) {
	t.Helper()
	r, p, err := db.OrderRefundTotal(context.Background(), "shop-1", order)
	if err != nil || r != reserved || p != paid {
		t.Fatalf("OrderRefundTotal(%s) = %d reserved, %d paid, %v; want %d, %d", order, r, p, err, reserved, paid)
	}
}

func TestReserveRefundIdempotent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		first, err := db.ReserveRefund(ctx, reservation("T1:refund:1", "O1", 600, 1000))
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != models.RefundPending || first.AmountCents != 600 || first.OrderID != "O1" || first.Purpose != models.PurposeRefund || !first.Reserved {
			t.Fatalf("reserved %+v", first)
		}
		// A retry with the same key, even with other figures, gets the same entry,
		// marked as one an earlier call reserved (it may have reached the provider).
		again, err := db.ReserveRefund(ctx, reservation("T1:refund:1", "O1", 900, 1000))
		if err != nil || again.Reserved {
			t.Fatalf("repeat = %+v, %v; want it found, not reserved again", again, err)
		}
		first.Reserved = false
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("repeat = %+v; want %+v", again, first)
		}
		list, err := db.ListRefunds(ctx, "T1")
		if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], first) {
			t.Fatalf("ListRefunds = %+v, %v", list, err)
		}
		got, err := db.GetRefund(ctx, "T1:refund:1")
		if err != nil || !reflect.DeepEqual(got, first) {
			t.Fatalf("GetRefund = %+v, %v", got, err)
		}
		wantTotal(t, db, "O1", 600, 1000)

		_, err = db.GetRefund(ctx, "nope")
		wantCode(t, err, models.ENOTFOUND, "refund nope not found")
		_, _, err = db.OrderRefundTotal(ctx, "shop-1", "O-none")
		wantCode(t, err, models.ENOTFOUND, "order O-none has no refund recorded")
		if list, err := db.ListRefunds(ctx, "T-none"); err != nil || len(list) != 0 {
			t.Fatalf("ListRefunds of no ticket = %v, %v", list, err)
		}
		other := reservation("T2:charge:1", "O2", 100, 1000)
		other.Purpose = models.PurposeRecovery
		if made, err := db.ReserveRefund(ctx, other); err != nil || !made.Reserved {
			t.Fatalf("an uncapped purpose's first reservation = %+v, %v", made, err)
		}
		if found, err := db.ReserveRefund(ctx, other); err != nil || found.Reserved {
			t.Fatalf("an uncapped purpose's repeat = %+v, %v", found, err)
		}
	})
}

func TestReserveRefundCap(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.ReserveRefund(ctx, reservation("T1:refund:1", "O1", 600, 1000)); err != nil {
			t.Fatal(err)
		}
		// Another ticket of the same order: the cap is per order.
		r := reservation("T2:refund:1", "O1", 500, 1000)
		r.TicketID = "T2"
		_, err := db.ReserveRefund(ctx, r)
		wantCode(t, err, models.ECONFLICT, "refunds of order O1 would total 1100 cents, more than the 1000 cents paid")
		if _, err := db.GetRefund(ctx, "T2:refund:1"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("a refused reservation left an entry: %v", err)
		}
		r.AmountCents = 400
		if _, err := db.ReserveRefund(ctx, r); err != nil {
			t.Fatalf("reserve up to the cap: %v", err)
		}
		// Compensation is another money flow, not capped by the order.
		comp := reservation("O1:compensation", "O1", 5000, 1000)
		comp.Purpose = models.PurposeCompensate
		if _, err := db.ReserveRefund(ctx, comp); err != nil {
			t.Fatalf("compensation: %v", err)
		}
		wantTotal(t, db, "O1", 1000, 1000)
		_, err = db.ReserveRefund(ctx, reservation("T1:refund:2", "O1", 1, 1000))
		wantCode(t, err, models.ECONFLICT, "would total 1001 cents")

		for _, tc := range []struct {
			r   RefundReservation
			msg string
		}{
			{reservation("", "O1", 1, 1), "refund key must have 1 to 255 characters"},
			{reservation("k", "", 1, 1), "names no order id"},
			{reservation("k", "O1", 0, 1), "amount must be more than 0 cents"},
			{reservation("k", "O9", 1, 0), "order O9 has no refund ledger yet"},
		} {
			_, err := db.ReserveRefund(ctx, tc.r)
			wantCode(t, err, models.EINVALID, tc.msg)
		}
	})
}

func TestReserveRefundConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		const n, amount, paid = 20, 700, 10000
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		start := make(chan struct{})
		// 20 distinct keys, each requested twice at once (a retried activity).
		for i := 0; i < 2*n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				_, errs[i] = db.ReserveRefund(context.Background(), reservation(fmt.Sprintf("T%d:refund:1", i%n), "O-hot", amount, paid))
			}(i)
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil && models.ErrorCode(err) != models.ECONFLICT {
				t.Fatalf("reservation %d: %v", i, err)
			}
		}
		var rows []refundRow
		if err := db.Gorm().Where("order_id = ?", "O-hot").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, r := range rows {
			sum += r.AmountCents
		}
		if len(rows) != paid/amount || sum > paid {
			t.Fatalf("%d entries totalling %d cents; want %d entries, at most %d cents", len(rows), sum, paid/amount, paid)
		}
		wantTotal(t, db, "O-hot", sum, paid)
	})
}

func TestMarkRefund(t *testing.T) {
	type step struct {
		status, ref    string
		wantStatus     string
		wantAttempts   int
		wantReserved   int64
		wantProviderID string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"happy path, late sent ignored", []step{
			{"sent", "", "sent", 1, 300, ""},
			{"sent", "", "sent", 2, 300, ""}, // a retried provider call
			{"succeeded", "pay-1", "succeeded", 2, 300, "pay-1"},
			{"sent", "", "succeeded", 2, 300, "pay-1"},
			{"failed", "pay-2", "succeeded", 2, 300, "pay-1"}, // succeeded is final
		}},
		{"a failure keeps the reservation: the key may still pay", []step{
			{"sent", "", "sent", 1, 300, ""},
			{"failed", "pay-1", "failed", 1, 300, "pay-1"},
			{"failed", "", "failed", 1, 300, "pay-1"},
			{"sent", "", "failed", 1, 300, "pay-1"},
		}},
		{"a confirmed failure (void) releases once; a success after it takes the amount again", []step{
			{"sent", "", "sent", 1, 300, ""},
			{"failed", "", "failed", 1, 300, ""},
			{"void", "", "void", 1, 0, ""},
			{"failed", "", "void", 1, 0, ""},
			{"succeeded", "pay-3", "succeeded", 1, 300, "pay-3"},
		}},
		{"success after failure keeps the amount taken once", []step{
			{"failed", "", "failed", 0, 300, ""},
			{"succeeded", "pay-9", "succeeded", 0, 300, "pay-9"},
			{"failed", "", "succeeded", 0, 300, "pay-9"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *DB) {
				ctx := context.Background()
				if _, err := db.ReserveRefund(ctx, reservation("T1:refund:1", "O1", 300, 1000)); err != nil {
					t.Fatal(err)
				}
				for i, s := range tc.steps {
					row, err := db.MarkRefund(ctx, "T1:refund:1", models.MoneyStatus(s.status), s.ref)
					if err != nil {
						t.Fatalf("step %d %s: %v", i, s.status, err)
					}
					if string(row.Status) != s.wantStatus || row.Attempts != s.wantAttempts || row.ProviderRef != s.wantProviderID {
						t.Fatalf("step %d %s: status %s attempts %d ref %q; want %s %d %q",
							i, s.status, row.Status, row.Attempts, row.ProviderRef, s.wantStatus, s.wantAttempts, s.wantProviderID)
					}
					wantTotal(t, db, "O1", s.wantReserved, 1000)
				}
			})
		})
	}

	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		_, err := db.MarkRefund(ctx, "T9:refund:1", "sent", "")
		wantCode(t, err, models.ENOTFOUND, "refund T9:refund:1 not found")
		_, err = db.MarkRefund(ctx, "T9:refund:1", "pending", "")
		wantCode(t, err, models.EINVALID, `refund status "pending" is not one a refund can move to`)
		_, err = db.MarkRefund(ctx, "T9:refund:1", "paid", "")
		wantCode(t, err, models.EINVALID, `refund status "paid"`)

		// A void key frees room under the cap for the next attempt; a failed one not yet.
		if _, err := db.ReserveRefund(ctx, reservation("T1:refund:1", "O2", 1000, 1000)); err != nil {
			t.Fatal(err)
		}
		_, err = db.ReserveRefund(ctx, reservation("T1:refund:2", "O2", 1000, 1000))
		wantCode(t, err, models.ECONFLICT, "")
		if _, err := db.MarkRefund(ctx, "T1:refund:1", "failed", ""); err != nil {
			t.Fatal(err)
		}
		_, err = db.ReserveRefund(ctx, reservation("T1:refund:2", "O2", 1000, 1000))
		wantCode(t, err, models.ECONFLICT, "")
		if _, err := db.MarkRefund(ctx, "T1:refund:1", "void", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReserveRefund(ctx, reservation("T1:refund:2", "O2", 1000, 1000)); err != nil {
			t.Fatalf("reserve after a void: %v", err)
		}
		// Compensation entries move status but never touch the order's cap.
		comp := reservation("O2:compensation", "O2", 50, 1000)
		comp.Purpose = models.PurposeCompensate
		if _, err := db.ReserveRefund(ctx, comp); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MarkRefund(ctx, "O2:compensation", "failed", ""); err != nil {
			t.Fatal(err)
		}
		wantTotal(t, db, "O2", 1000, 1000)
	})
}

// Paid twice across tickets of one order: A's key is void (its room given
// back), B is paid the whole order, and A's key pays after all. The change that
// took the order over records by how much on A's key, once; a repeat of it and
// B's own key record nothing.
func TestMarkRefundOrderOver(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		a := reservation("TA:refund:1", "O9", 10000, 10000)
		a.TicketID = "TA"
		b := reservation("TB:refund:1", "O9", 10000, 10000)
		b.TicketID = "TB"
		mustReserve := func(r RefundReservation) {
			t.Helper()
			if _, err := db.ReserveRefund(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		mark := marker(t, db)
		mustReserve(a)
		mark(a.Key, models.RefundVoid)
		mustReserve(b)
		if row := mark(b.Key, models.RefundSucceeded); row.OrderOverCents != 0 {
			t.Fatalf("B paid within the order: %+v", row)
		}
		row := mark(a.Key, models.RefundSucceeded)
		if row.OrderOverCents != 10000 {
			t.Fatalf("A's late success took the order 10000 over; the ledger says %d", row.OrderOverCents)
		}
		wantTotal(t, db, "O9", 20000, 10000)
		if again := mark(a.Key, models.RefundSucceeded); again.OrderOverCents != 10000 {
			t.Fatalf("a repeat changed the record: %+v", again)
		}
		if got, err := db.GetRefund(ctx, a.Key); err != nil || got.OrderOverCents != 10000 {
			t.Fatalf("GetRefund = %+v, %v", got, err)
		}
	})
}

// The order's excess is measured on money that moved, never on reservations: A's
// key is void and pays after all while B's key is still reserved; nothing is over
// yet. If B's key is then refused, the order holds A's payment alone, within what
// was paid; if B pays, B's success is the one that took the order over.
func TestMarkRefundOrderOverMeasuresMoneyThatMoved(t *testing.T) {
	for _, bPays := range []bool{false, true} {
		t.Run(fmt.Sprintf("b_pays=%v", bPays), func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *DB) {
				ctx := context.Background()
				reserve := func(key, ticket string) {
					t.Helper()
					r := reservation(key, "O10", 10000, 10000)
					r.TicketID = ticket
					if _, err := db.ReserveRefund(ctx, r); err != nil {
						t.Fatal(err)
					}
				}
				mark := marker(t, db)
				reserve("TA:refund:1", "TA")
				mark("TA:refund:1", models.RefundVoid)
				reserve("TB:refund:1", "TB")
				if row := mark("TA:refund:1", models.RefundSucceeded); row.OrderOverCents != 0 {
					t.Fatalf("A paid late while B's key is only reserved: the order holds 10000 of 10000, the ledger says %d over", row.OrderOverCents)
				}
				if !bPays {
					if row := mark("TB:refund:1", models.RefundVoid); row.OrderOverCents != 0 {
						t.Fatalf("B refused: %+v", row)
					}
					wantTotal(t, db, "O10", 10000, 10000)
					return
				}
				if row := mark("TB:refund:1", models.RefundSucceeded); row.OrderOverCents != 10000 {
					t.Fatalf("B's payment took the order to 20000 of 10000; the ledger says %d over", row.OrderOverCents)
				}
				if row, _ := db.GetRefund(ctx, "TA:refund:1"); row.OrderOverCents != 0 {
					t.Fatalf("A's record changed: %+v", row)
				}
			})
		})
	}
}

// A repayment (a recovery charge paid back) takes room in the order as a refund
// does: the room the recovery gave back went to another ticket meanwhile, and
// the repayment is refused at the door rather than taking the order over.
func TestReserveRepaymentTakesOrderRoom(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		reserve := func(key, ticket string, purpose models.Purpose) error {
			r := reservation(key, "O12", 10000, 10000)
			r.TicketID, r.Purpose = ticket, purpose
			_, err := db.ReserveRefund(ctx, r)
			return err
		}
		mark := func(key string) {
			t.Helper()
			if _, err := db.MarkRefund(ctx, key, models.RefundSucceeded, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := reserve("TA:refund:1", "TA", models.PurposeRefund); err != nil {
			t.Fatal(err)
		}
		mark("TA:refund:1")
		if err := reserve("TA:refund:2", "TA", models.PurposeRecovery); err != nil {
			t.Fatal(err)
		}
		mark("TA:refund:2")
		wantTotal(t, db, "O12", 0, 10000)
		if err := reserve("TB:refund:1", "TB", models.PurposeRefund); err != nil {
			t.Fatal(err)
		}
		err := reserve("TA:refund:3", "TA", models.PurposeRepayment)
		if models.ErrorCode(err) != models.ECONFLICT {
			t.Fatalf("a repayment past what the order paid: %v, want a conflict", err)
		}
		wantTotal(t, db, "O12", 10000, 10000)
	})
}

// marker returns a function that marks a key in db's ledger and fails the test
// on an error.
func marker(t *testing.T, db *DB) func(key string, status models.MoneyStatus) models.RefundRow {
	return func(key string, status models.MoneyStatus) models.RefundRow {
		t.Helper()
		row, err := db.MarkRefund(context.Background(), key, status, "")
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
}
