package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

func TestSLAReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		to := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		day := func(d int) time.Time { return from.Add(time.Duration(d) * 24 * time.Hour) }
		ended := func(tk *models.Ticket, state models.State, after time.Duration) {
			tk.State = state
			e := tk.CreatedAt.Add(after)
			tk.EndedAt = &e
		}
		replied := func(tk *models.Ticket, late bool) {
			r := tk.CreatedAt.Add(10 * time.Minute)
			tk.FirstReplyAt = &r
			tk.Flags.ReplyLate = late
		}
		score := func(tk *models.Ticket, s int) { tk.Evaluation = &models.Evaluation{Score: s, At: tk.CreatedAt} }

		t1 := ticket("S1", "s1", "", day(0), 9) // created exactly at From: included
		ended(&t1, models.StateCompleted, time.Hour)
		t1.Flags.FastReviewed = true
		replied(&t1, false)
		score(&t1, 5)
		t2 := ticket("S2", "s1", "", day(1), 9)
		ended(&t2, models.StateClosed, 2*time.Hour+500*time.Millisecond)
		t2.Flags.Escalated = true
		replied(&t2, true)
		score(&t2, 3)
		t3 := ticket("S3", "s1", "", day(2), 9)
		ended(&t3, models.StateCompleted, 10*time.Hour)
		t3.Flags.AutoActed = true
		t3.Flags.LightningRefund = true
		replied(&t3, false)
		score(&t3, 4)
		t4 := ticket("S4", "s1", models.StateEscalated, day(3), 9)
		t4.Flags.Escalated = true
		t5 := ticket("S5", "s1", "", day(4), 9) // delay reported: left out of the figures
		ended(&t5, models.StateCompleted, 100*time.Hour)
		t5.Flags.ExcludedFromAssessment = true
		score(&t5, 1)
		t6 := ticket("S6", "s1", "", from.Add(-time.Microsecond), 9) // before the period
		ended(&t6, models.StateCompleted, time.Hour)
		t7 := ticket("S7", "s1", models.StatePendingReview, to, 9) // at To: after the period
		t8 := ticket("S8", "s2", models.StatePendingReview, day(5), 9)
		replied(&t8, false)
		for _, tk := range []models.Ticket{t1, t2, t3, t4, t5, t6, t7, t8} {
			mustSave(t, db, tk)
		}

		got, err := db.SLAReport(ctx, models.SLAFilter{ShopID: "s1", From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		want := models.SLAReport{
			ShopID: "s1", From: from, To: to, Total: 4, Excluded: 1,
			Completed: 2, Closed: 1, Escalated: 2, AutoActed: 1, FastReviewed: 1, Lightning: 1,
			Ended: 3, AvgDurationSeconds: (3600 + 7200.5 + 36000) / 3.0, P90DurationSeconds: 36000,
			RepliedInTime: 2, ReplyRate: 0.5, DisputeRate: 0.5,
			SatisfactionAvg: 4, SatisfactionCount: 3,
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("report =\n%+v\nwant\n%+v", got, want)
		}

		all, err := db.SLAReport(ctx, models.SLAFilter{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		if all.Total != 5 || all.RepliedInTime != 3 || all.ReplyRate != 0.6 || all.DisputeRate != 0.4 || all.Ended != 3 {
			t.Fatalf("all shops: %+v", all)
		}

		empty, err := db.SLAReport(ctx, models.SLAFilter{ShopID: "nobody", From: from, To: to})
		if err != nil || empty.Total != 0 || empty.ReplyRate != 0 || empty.AvgDurationSeconds != 0 {
			t.Fatalf("empty report = %+v, %v", empty, err)
		}
		_, err = db.SLAReport(ctx, models.SLAFilter{From: to, To: from})
		wantCode(t, err, models.EINVALID, "report period is not valid")
	})
}

func TestWarnings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		mk := func(id, shop string, state models.State, createdHoursAgo int, deadlineIn *time.Duration) {
			tk := ticket(id, shop, state, now.Add(-time.Duration(createdHoursAgo)*time.Hour), 1)
			if deadlineIn != nil {
				tk.Deadline = &models.Deadline{Name: "review_by", At: now.Add(*deadlineIn)}
			}
			mustSave(t, db, tk)
		}
		mk("A", "s1", models.StatePendingReview, 50, ptr(-time.Hour)) // overdue
		mk("B", "s1", models.StateAwaitingPickup, 10, ptr(2*time.Hour))
		mk("C", "s1", models.StateInTransit, 20, ptr(30*time.Hour)) // beyond the window
		mk("D", "s1", models.StateEscalated, 100, nil)              // no deadline, oldest open
		mk("E", "s1", models.StateCompleted, 200, ptr(time.Hour))   // ended: never a warning
		mk("F", "s2", models.StatePendingReview, 300, ptr(time.Hour))

		w, err := db.Warnings(ctx, "s1", 24*time.Hour, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := warningIDs(w.DueSoon); !reflect.DeepEqual(got, []string{"A", "B"}) {
			t.Fatalf("due soon = %v, want [A B]", got)
		}
		a := w.DueSoon[0]
		if !a.Overdue || *a.SecondsLeft != -3600 || a.OpenSeconds != 50*3600 || a.DeadlineName != "review_by" || a.State != "pending_review" {
			t.Fatalf("A = %+v (seconds left %d)", a, *a.SecondsLeft)
		}
		if b := w.DueSoon[1]; b.Overdue || *b.SecondsLeft != 7200 {
			t.Fatalf("B = %+v", b)
		}
		if got := warningIDs(w.LongestOpen); !reflect.DeepEqual(got, []string{"D", "A", "C", "B"}) {
			t.Fatalf("longest open = %v, want [D A C B]", got)
		}
		if d := w.LongestOpen[0]; d.DeadlineAt != nil || d.SecondsLeft != nil || d.Overdue {
			t.Fatalf("D has no deadline: %+v", d)
		}
		if w.WithinSeconds != 86400 || !w.Now.Equal(now) {
			t.Fatalf("header = %+v", w)
		}

		w, err = db.Warnings(ctx, "", 48*time.Hour, now, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := warningIDs(w.DueSoon), []string{"A", "F"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("all shops, limit 2: due soon = %v, want %v", got, want)
		}
		if got, want := warningIDs(w.LongestOpen), []string{"F", "D"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("all shops, limit 2: longest open = %v, want %v", got, want)
		}

		_, err = db.Warnings(ctx, "s1", -time.Hour, now, 0)
		wantCode(t, err, models.EINVALID, "within -1h0m0s is negative")
	})
}

func warningIDs(ws []models.WarningTicket) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}
