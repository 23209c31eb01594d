package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

func TestSaveTicketOrdered(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		e1 := event(1, base, "", models.StatePendingReview, "created")
		e2 := event(2, base.Add(time.Hour), models.StatePendingReview, models.StateAwaitingPickup, "approved")
		e3 := event(3, base.Add(2*time.Hour+time.Nanosecond), models.StateAwaitingPickup, models.StateInTransit, "picked up")

		v1 := ticket("T1", "shop-1", models.StatePendingReview, base, 1)
		v1.Timeline = []models.Event{e1}
		v2 := ticket("T1", "shop-1", models.StateAwaitingPickup, base, 2)
		v2.Deadline = &models.Deadline{Name: "pickup_by", At: base.Add(49 * time.Hour)}
		v2.Timeline = []models.Event{e1, e2}
		v3 := ticket("T1", "shop-1", models.StateInTransit, base, 3)
		v3.Flags.LightningRefund = true
		v3.Logistics.TrackingNo = "SF123"
		v3.UpdatedAt = base.Add(2 * time.Hour)
		e1changed := e1
		e1changed.Note = "rewritten"
		v3.Timeline = []models.Event{e1changed, e2, e3}

		mustSave(t, db, v2)
		mustSave(t, db, v2) // repeated
		mustSave(t, db, v1) // older after newer: row unchanged, event 1 already there
		got, err := db.GetTicket(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != models.StateAwaitingPickup || got.Seq != 2 || got.Deadline == nil || !got.Deadline.At.Equal(v2.Deadline.At) {
			t.Fatalf("after seq 2, 2, 1: state %s seq %d deadline %v; want awaiting_pickup seq 2", got.State, got.Seq, got.Deadline)
		}
		if len(got.Timeline) != 2 {
			t.Fatalf("timeline has %d events, want 2: %+v", len(got.Timeline), got.Timeline)
		}

		mustSave(t, db, v3)
		mustSave(t, db, v2) // stale again
		mustSave(t, db, v3)
		got, err = db.GetTicket(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		assertView(t, got, v3)
		want := []models.Event{e1, e2, e3}
		want[2].At = e3.At.Truncate(time.Microsecond) // stored with microseconds
		if !reflect.DeepEqual(got.Timeline, want) {
			t.Fatalf("timeline =\n%+v\nwant (event 1 kept as first stored, none duplicated)\n%+v", got.Timeline, want)
		}
		var n int64
		db.Gorm().Table("ticket_events").Where("ticket_id = ?", "T1").Count(&n)
		if n != 3 {
			t.Fatalf("ticket_events has %d rows for T1, want 3", n)
		}
		// The filter columns follow the newest seq too.
		page, err := db.ListTickets(ctx, models.TicketFilter{State: string(models.StateInTransit)})
		if err != nil || len(page.Tickets) != 1 {
			t.Fatalf("list in_transit = %d tickets, %v", len(page.Tickets), err)
		}
		page, _ = db.ListTickets(ctx, models.TicketFilter{State: string(models.StateAwaitingPickup)})
		if len(page.Tickets) != 0 {
			t.Fatalf("the stale state is still listed")
		}
	})
}

// assertView compares everything but the timeline.
func assertView(t *testing.T, got, want models.Ticket) {
	t.Helper()
	got.Timeline, want.Timeline = nil, nil
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("stored view =\n%s\nwant\n%s", g, w)
	}
}

func TestSaveTicketRefusesBadInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		err := db.SaveTicket(context.Background(), models.Ticket{CreatedAt: base})
		wantCode(t, err, models.EINVALID, "ticket id is empty")
		err = db.SaveTicket(context.Background(), models.Ticket{ID: "x"})
		wantCode(t, err, models.EINVALID, "has no created_at")
	})
}

func TestGetTicketNotFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		_, err := db.GetTicket(context.Background(), "T-missing")
		wantCode(t, err, models.ENOTFOUND, "ticket T-missing not found")
	})
}

func TestListTicketsFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		mk := func(id, shop string, state models.State, kind models.Kind, hour int, escalated bool, deadline *time.Time) {
			tk := ticket(id, shop, state, base.Add(time.Duration(hour)*time.Hour), 1)
			tk.Kind = kind
			tk.Flags.Escalated = escalated
			if deadline != nil {
				tk.Deadline = &models.Deadline{Name: "review_by", At: *deadline}
			}
			mustSave(t, db, tk)
		}
		d := func(h int) *time.Time { v := base.Add(time.Duration(h) * time.Hour); return &v }
		mk("A", "s1", models.StatePendingReview, models.KindRefundOnly, 1, false, d(49))
		mk("B", "s1", models.StateEscalated, models.KindReturnRefund, 2, true, d(10))
		mk("C", "s1", models.StateCompleted, models.KindReturnRefund, 3, true, nil)
		mk("D", "s2", models.StatePendingReview, models.KindExchange, 4, false, d(52))
		mk("E", "s2", models.StateRepairing, models.KindRepair, 5, false, d(5))

		for _, tc := range []struct {
			name string
			f    models.TicketFilter
			want []string
		}{
			{"all, newest first", models.TicketFilter{}, []string{"E", "D", "C", "B", "A"}},
			{"shop", models.TicketFilter{ShopID: "s1"}, []string{"C", "B", "A"}},
			{"state", models.TicketFilter{State: "pending_review"}, []string{"D", "A"}},
			{"kind", models.TicketFilter{Kind: "return_refund"}, []string{"C", "B"}},
			{"escalated", models.TicketFilter{Escalated: ptr(true)}, []string{"C", "B"}},
			{"not escalated", models.TicketFilter{Escalated: ptr(false), ShopID: "s1"}, []string{"A"}},
			{"deadline before", models.TicketFilter{DeadlineBefore: d(49)}, []string{"E", "B"}},
			{"deadline before, strictly", models.TicketFilter{DeadlineBefore: ptr(d(49).Add(time.Microsecond))}, []string{"E", "B", "A"}},
			{"combined", models.TicketFilter{ShopID: "s2", State: "pending_review", Kind: "exchange", Escalated: ptr(false), DeadlineBefore: d(100)}, []string{"D"}},
			{"nothing", models.TicketFilter{ShopID: "s3"}, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				page, err := db.ListTickets(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(page.Tickets); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("ids = %v, want %v", got, tc.want)
				}
				if page.NextCursor != "" {
					t.Fatalf("NextCursor = %q on the only page", page.NextCursor)
				}
				for _, tk := range page.Tickets {
					if tk.Timeline != nil {
						t.Fatalf("listed ticket %s carries a timeline", tk.ID)
					}
				}
			})
		}

		for _, tc := range []struct {
			f   models.TicketFilter
			msg string
		}{
			{models.TicketFilter{State: "lost"}, `state "lost" is not a ticket state`},
			{models.TicketFilter{Kind: "gift"}, `kind "gift" is not a ticket kind`},
			{models.TicketFilter{Limit: -1}, "limit -1 is negative"},
		} {
			_, err := db.ListTickets(ctx, tc.f)
			wantCode(t, err, models.EINVALID, tc.msg)
		}
	})
}

func TestListTicketsPaging(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		// 25 tickets; groups of three share created_at, so the id breaks ties.
		var want []string
		for i := 0; i < 25; i++ {
			tk := ticket(fmt.Sprintf("P%02d", i), "s-page", models.StatePendingReview, base.Add(time.Duration(i/3)*time.Millisecond), 1)
			mustSave(t, db, tk)
			want = append([]string{tk.ID}, want...)
		}
		mustSave(t, db, ticket("OTHER", "s-other", models.StatePendingReview, base, 1))

		var got []string
		cursor := ""
		var sizes []int
		for page := 0; page < 10; page++ {
			p, err := db.ListTickets(ctx, models.TicketFilter{ShopID: "s-page", Cursor: cursor, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(p.Tickets))
			got = append(got, ids(p.Tickets)...)
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if !reflect.DeepEqual(sizes, []int{10, 10, 5}) {
			t.Fatalf("page sizes = %v, want [10 10 5]", sizes)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("paged ids = %v\nwant %v", got, want)
		}

		// Default page size is 50, and 200 at most.
		p, err := db.ListTickets(ctx, models.TicketFilter{Limit: 1000})
		if err != nil || len(p.Tickets) != 26 || p.NextCursor != "" {
			t.Fatalf("limit 1000: %d tickets, cursor %q, %v", len(p.Tickets), p.NextCursor, err)
		}

		for _, bad := range []string{"%%%", base64.RawURLEncoding.EncodeToString([]byte("no separator")),
			base64.RawURLEncoding.EncodeToString([]byte("yesterday|P01"))} {
			_, err := db.ListTickets(ctx, models.TicketFilter{Cursor: bad})
			wantCode(t, err, models.EINVALID, "cursor is not valid: ")
		}
	})
}

func ids(ts []models.Ticket) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}
