package store

import (
	"context"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

func TestOrderRecords(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		shipped := base.Add(time.Hour)
		o := models.Order{OrderID: "O1", OrderFacts: models.OrderFacts{ShopID: "shop-1", BuyerID: "b1", PaidCents: 5000,
			Currency: "CNY", PaidAt: base, ShippedAt: &shipped, Items: []models.Item{{SKU: "S1", Qty: 2, UnitPaidCents: 2500}}}}
		o.Normalize()
		saved, created, err := db.PutOrder(ctx, o)
		if err != nil || !created || !saved.Shipped || saved.Delivered || len(saved.Items) != 1 {
			t.Fatalf("first put = %+v, %v, %v", saved, created, err)
		}
		// The same record again: updated, not created; nothing changed is fine on MySQL too.
		if _, created, err = db.PutOrder(ctx, o); err != nil || created {
			t.Fatalf("second put: created %v, %v", created, err)
		}
		if _, err := db.GetOrder(ctx, "shop-1", "O2"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("unknown order: %v", err)
		}
		tk := ticket("T1", "shop-1", models.StatePendingReview, base, 1)
		tk.OrderID = "O1"
		mustSave(t, db, tk)
		got, err := db.GetOrder(ctx, "shop-1", "O1")
		if err != nil || len(got.TicketIDs) != 1 || got.TicketIDs[0] != "T1" || !got.PaidAt.Equal(base) || got.ShippedAt == nil || !got.ShippedAt.Equal(shipped) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		// With a ticket the fixed facts may not change; the others may.
		changed := o
		changed.PaidCents = 9000
		if _, _, err := db.PutOrder(ctx, changed); models.ErrorCode(err) != models.ECONFLICT {
			t.Errorf("changing paid_cents with a ticket: %v, want conflict", err)
		}
		changed = o
		changed.FreightInsurance = true
		if saved, _, err := db.PutOrder(ctx, changed); err != nil || !saved.FreightInsurance {
			t.Errorf("adding freight insurance: %+v, %v", saved, err)
		}
	})
}

func TestBuyersAndRecentReturns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if b, known, err := db.GetBuyer(ctx, "b1"); err != nil || known || b.Credit != 0 || b.Flagged {
			t.Fatalf("unrated buyer = %+v %v %v", b, known, err)
		}
		for range 2 { // the second save of the same values must work on MySQL too
			if _, err := db.PutBuyer(ctx, models.Buyer{BuyerID: "b1", Credit: 4, Flagged: true, Note: "chargebacks"}); err != nil {
				t.Fatal(err)
			}
		}
		if b, known, err := db.GetBuyer(ctx, "b1"); err != nil || !known || b.Credit != 4 || !b.Flagged || b.Note != "chargebacks" {
			t.Fatalf("rated buyer = %+v %v %v", b, known, err)
		}
		old := ticket("T-old", "shop-1", models.StateCompleted, base.Add(-100*24*time.Hour), 1)
		recent := ticket("T-new", "shop-1", models.StatePendingReview, base, 1)
		other := ticket("T-other", "shop-1", models.StatePendingReview, base, 1)
		bySeller := ticket("T-seller", "shop-2", models.StatePendingReview, base, 1)
		old.BuyerID, recent.BuyerID, other.BuyerID, bySeller.BuyerID = "b1", "b1", "b2", "b1"
		for _, tk := range []*models.Ticket{&old, &recent, &other, &bySeller} {
			created := event(1, tk.CreatedAt, "", models.StatePendingReview, "")
			created.Action = "create"
			tk.Timeline = []models.Event{created}
		}
		// Shop-2's seller opened a ticket for b1: it must not count against b1.
		bySeller.Timeline[0].Actor, bySeller.Timeline[0].Role = "shop-2", models.RoleSeller
		for _, tk := range []models.Ticket{old, recent, other, bySeller} {
			mustSave(t, db, tk)
		}
		if n, err := db.RecentReturns(ctx, "b1", base.Add(-90*24*time.Hour)); err != nil || n != 1 {
			t.Errorf("recent returns of b1 = %d, %v; want 1 (the 100-day-old one is out of the window, the seller's does not count)", n, err)
		}
	})
}

// A self-shipped parcel is routed by carrier (any case) and tracking number to
// the workflow that subscribed it last; an unknown one is ENOTFOUND.
func TestParcelSubscriptions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if err := db.SubscribeParcel(ctx, "sf", "SF123", "ticket-A"); err != nil {
			t.Fatal(err)
		}
		if id, err := db.ParcelWorkflow(ctx, "SF", "SF123"); err != nil || id != "ticket-A" {
			t.Fatalf("ParcelWorkflow = %q, %v", id, err)
		}
		if err := db.SubscribeParcel(ctx, "SF", "SF123", "ticket-B"); err != nil {
			t.Fatal(err)
		}
		if id, err := db.ParcelWorkflow(ctx, "SF", "SF123"); err != nil || id != "ticket-B" {
			t.Fatalf("after a second subscription: %q, %v", id, err)
		}
		if _, err := db.ParcelWorkflow(ctx, "YTO", "SF123"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("another carrier's parcel: %v", err)
		}
		if err := db.SubscribeParcel(ctx, "", "X1", "ticket-C"); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("no carrier: %v", err)
		}
	})
}
