package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// A ledger entry keeps the lines its movement pays for, and the order's net per
// line counts only the entries that succeeded: refunds and repayments less
// charges back.
func TestOrderLineRefunds(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		move := func(key string, purpose models.Purpose, amount int64, lines []models.LineCents, status models.MoneyStatus) {
			t.Helper()
			r := reservation(key, "O-lines", amount, 10_000)
			r.Purpose, r.Lines = purpose, lines
			row, err := db.ReserveRefund(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(row.Lines, lines) {
				t.Fatalf("%s reserved with lines %+v, want %+v", key, row.Lines, lines)
			}
			if status != models.RefundPending {
				if _, err := db.MarkRefund(ctx, key, status, "ref-"+key); err != nil {
					t.Fatal(err)
				}
			}
		}
		move("T1:refund:1", models.PurposeRefund, 3000, []models.LineCents{{SKU: "CUP", Cents: 1000}, {SKU: "PLATE", Cents: 2000}}, models.RefundSucceeded)
		move("T1:refund:2", models.PurposeOverpaid, 500, []models.LineCents{{SKU: "PLATE", Cents: 500}}, models.RefundSucceeded)
		move("T1:refund:3", models.PurposeRefund, 700, []models.LineCents{{SKU: "CUP", Cents: 700}}, models.RefundFailed)
		move("T1:refund:4", models.PurposeRefund, 300, []models.LineCents{{SKU: "CUP", Cents: 300}}, models.RefundPending)
		move("T1:refund:5", models.PurposeFreight, 1200, nil, models.RefundSucceeded)
		got, err := db.OrderLineRefunds(ctx, "shop-1", "O-lines")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"CUP": 1000, "PLATE": 1500}; !reflect.DeepEqual(got, want) {
			t.Fatalf("OrderLineRefunds = %v, want %v", got, want)
		}
		if row, err := db.GetRefund(ctx, "T1:refund:5"); err != nil || row.Lines != nil {
			t.Fatalf("a freight claim's entry: lines %+v, %v; want none", row.Lines, err)
		}
	})
}
