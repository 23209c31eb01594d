package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// TestSchema12BackfillsExistingTickets creates a database at schema 11, writes
// tickets as a binary of it did (no derived columns, no aggregate), and
// migrates: the back-fill must give every ticket the derived columns the
// projection would write today, and the reports must match the raw rows.
func TestSchema12BackfillsExistingTickets(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.migrateThrough(ctx, 11); err != nil {
			t.Fatal(err)
		}
		var want []ticketRow
		for lo := 0; lo < slaShape.Tickets; lo += 200 {
			var rows []ticketRow
			var events []eventRow
			for i := lo; i < min(lo+200, slaShape.Tickets); i++ {
				tk := slaShape.seedTicket(i)
				if i%7 == 0 { // a time without microseconds, and an end in the same microsecond
					tk.CreatedAt = tk.CreatedAt.Truncate(1e9)
					if tk.EndedAt != nil {
						end := tk.CreatedAt
						tk.EndedAt = &end
						tk.Timeline[5].At = end
					}
				}
				row, err := rowOf(tk)
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, row)
				events = append(events, eventRowsOf(tk)...)
			}
			if err := db.Gorm().Omit("is_open", "sla_duration_us", "sla_bucket", "rma").CreateInBatches(&rows, 10).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm().CreateInBatches(&events, 30).Error; err != nil {
				t.Fatal(err)
			}
			want = append(want, rows...)
		}

		applied, err := db.migrateThrough(ctx, 12)
		if err != nil {
			t.Fatalf("migrate 11 to 12: %v", err)
		}
		if len(applied) != 1 || applied[0][:4] != "0012" {
			t.Fatalf("applied %q, want 0012 only", applied)
		}
		var got []ticketRow
		if err := db.Gorm().Select("id, is_open, sla_duration_us, sla_bucket").Order("id").Find(&got).Error; err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d tickets after the migration, want %d", len(got), len(want))
		}
		byID := map[string]ticketRow{}
		for _, r := range want {
			byID[r.ID] = r
		}
		for _, g := range got {
			w := byID[g.ID]
			if g.IsOpen != w.IsOpen || !reflect.DeepEqual(g.SLADurationUS, w.SLADurationUS) || !reflect.DeepEqual(g.SLABucket, w.SLABucket) {
				t.Fatalf("ticket %s back-filled as open %v, duration %v, bucket %v; the projection writes %v, %v, %v",
					g.ID, g.IsOpen, deref(g.SLADurationUS), deref(g.SLABucket), w.IsOpen, deref(w.SLADurationUS), deref(w.SLABucket))
			}
		}
		checkSLAAgainstRows(t, db)

		// The projection carries on from the back-filled aggregate, on the schema
		// of this binary.
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		tk := slaShape.seedTicket(3)
		tk.Seq++
		tk.Flags.ExcludedFromAssessment = !tk.Flags.ExcludedFromAssessment
		tk.Timeline = append(tk.Timeline, models.Event{Seq: tk.Seq, At: tk.UpdatedAt, Actor: "seller", Role: models.RoleSeller,
			Action: "report_delay", From: tk.State, To: tk.State})
		mustSave(t, db, tk)
		checkSLAAgainstRows(t, db)
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
