package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// slaShape is a varied data set for the SLA tests: four shops over twelve days,
// tickets open and ended, excluded, escalated, replied late and evaluated, with
// durations from minutes to weeks.
var slaShape = seedShape{Tickets: 1200, Shops: 4, Buyers: 60, Days: 12, Now: benchNow, Seed: 11}

// TestSLAReportMatchesRows checks the report (aggregate for whole days, tickets
// for the rest) against a reference computed here from the raw ticket and event
// rows, over many periods. A third of the tickets reach the projection through
// SaveTicket with other versions of themselves before and after (stale writes,
// replays, a state or flag or duration that changes), the rest through the
// bench seed.
func TestSLAReportMatchesRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		var bulk []models.Ticket
		for i := 0; i < slaShape.Tickets; i++ {
			tk := slaShape.seedTicket(i)
			if i%3 != 0 {
				bulk = append(bulk, tk)
				continue
			}
			older := earlierVersion(tk, i)
			order := []models.Ticket{older, tk, older, tk} // the last two change nothing
			if i%2 == 0 {
				order = []models.Ticket{tk, older, tk} // out of order
			}
			for _, v := range order {
				mustSave(t, db, v)
			}
		}
		if err := db.seedTickets(ctx, bulk); err != nil {
			t.Fatal(err)
		}
		checkSLAAgainstRows(t, db)
	})
}

// earlierVersion is tk as the projection saw it at seq 3: open, or ended in
// another way, with flags that differ from the final ones.
func earlierVersion(tk models.Ticket, i int) models.Ticket {
	e := tk
	e.Seq, e.Timeline = 3, tk.Timeline[:3]
	e.UpdatedAt = e.Timeline[2].At
	e.Evaluation, e.EndedAt = nil, nil
	e.State = models.StatePendingReview
	e.Deadline = &models.Deadline{Name: "review_by", At: tk.CreatedAt.Add(48 * time.Hour)}
	e.Flags.Escalated = !tk.Flags.Escalated
	e.Flags.FastReviewed = false
	switch i % 5 {
	case 0:
		e.Flags.ExcludedFromAssessment = !tk.Flags.ExcludedFromAssessment
	case 1: // ended early, closed: another duration bucket
		end := tk.CreatedAt.Add(90 * time.Second)
		e.State, e.EndedAt, e.Deadline = models.StateClosed, &end, nil
		e.Evaluation = &models.Evaluation{Score: 2, At: end}
	case 2:
		e.FirstReplyAt = nil
	}
	return e
}

// checkSLAAgainstRows compares SLAReport with slaReference over whole ranges,
// ranges on day and hour boundaries, ranges that cut days and hours, under an
// hour, and empty ones, for each shop and for all shops; and the aggregate
// tables with sums of the rows.
func checkSLAAgainstRows(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	rows := slaReferenceRows(t, db)
	start := slaShape.Now.Add(-time.Duration(slaShape.Days) * 24 * time.Hour)
	day0 := start.Truncate(24 * time.Hour)
	periods := [][2]time.Time{
		{start.Add(-time.Hour), slaShape.Now.Add(time.Hour)},
		{day0, day0.Add(14 * 24 * time.Hour)},
		{day0.Add(24 * time.Hour), day0.Add(5 * 24 * time.Hour)},
		{day0.Add(3*24*time.Hour + time.Microsecond), day0.Add(4*24*time.Hour - time.Microsecond)},
		{day0.Add(2*24*time.Hour + 5*time.Hour), day0.Add(2*24*time.Hour + 9*time.Hour)},
		{day0.Add(2*24*time.Hour + 5*time.Hour + time.Minute), day0.Add(2*24*time.Hour + 5*time.Hour + 20*time.Minute)},
		{day0.Add(5*24*time.Hour - 90*time.Minute), day0.Add(6*24*time.Hour + 90*time.Minute)},
		{slaShape.Now.Add(-30 * 24 * time.Hour), slaShape.Now},
		{slaShape.Now.Add(24 * time.Hour), slaShape.Now.Add(48 * time.Hour)},
	}
	r := rand.New(rand.NewPCG(5, 5))
	for len(periods) < 40 {
		a := start.Add(time.Duration(r.Int64N(int64(13 * 24 * time.Hour))))
		b := a.Add(time.Duration(1 + r.Int64N(int64(6*24*time.Hour)>>r.IntN(8))))
		periods = append(periods, [2]time.Time{a, b})
	}
	for _, p := range periods {
		for s := 0; s <= slaShape.Shops+1; s++ {
			shop := ""
			if s > 0 {
				shop = fmt.Sprintf("shop-%02d", s) // shop-05 has no ticket
			}
			f := models.SLAFilter{ShopID: shop, From: p[0], To: p[1]}
			got, err := db.SLAReport(ctx, f)
			if err != nil {
				t.Fatalf("SLAReport(%+v): %v", f, err)
			}
			if want := slaReference(rows, f); !reflect.DeepEqual(got, want) {
				t.Fatalf("SLAReport(%+v) =\n%+v\nthe rows say\n%+v", f, got, want)
			}
		}
	}
	checkSLATables(t, db, rows)
}

// slaRefRow is what the reference reads of a ticket: its flags and times from
// the tickets row, its state and end from the last event of its audit trail.
type slaRefRow struct {
	ShopID                                                        string
	CreatedAt                                                     dbTime
	FirstReplyAt                                                  nullTime
	EvaluationScore                                               *int
	Excluded, Escalated, AutoActed, FastReviewed, Lightning, Late bool
	State                                                         models.State
	EndedAt                                                       *time.Time
}

func slaReferenceRows(t *testing.T, db *DB) []slaRefRow {
	t.Helper()
	var tickets []struct {
		ID, ShopID                                                            string
		CreatedAt                                                             dbTime
		FirstReplyAt                                                          nullTime
		EvaluationScore                                                       *int
		ExcludedFromAssessment, Escalated, AutoActed, FastReviewed, Lightning bool
		ReplyLate                                                             bool
	}
	if err := db.Gorm().Raw(`SELECT id, shop_id, created_at, first_reply_at, evaluation_score, excluded_from_assessment,
		escalated, auto_acted, fast_reviewed, lightning_refund AS lightning, reply_late FROM tickets ORDER BY id`).
		Scan(&tickets).Error; err != nil {
		t.Fatal(err)
	}
	var events []struct {
		TicketID string
		At       dbTime
		ToState  string
	}
	if err := db.Gorm().Raw(`SELECT ticket_id, at, to_state FROM ticket_events ORDER BY ticket_id, seq`).
		Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	for i, e := range events {
		last[e.TicketID] = i
	}
	out := make([]slaRefRow, 0, len(tickets))
	for _, tk := range tickets {
		i, ok := last[tk.ID]
		if !ok {
			t.Fatalf("ticket %s has no audit trail", tk.ID)
		}
		e := events[i]
		row := slaRefRow{ShopID: tk.ShopID, CreatedAt: tk.CreatedAt, FirstReplyAt: tk.FirstReplyAt,
			EvaluationScore: tk.EvaluationScore, Excluded: tk.ExcludedFromAssessment, Escalated: tk.Escalated,
			AutoActed: tk.AutoActed, FastReviewed: tk.FastReviewed, Lightning: tk.Lightning, Late: tk.ReplyLate,
			State: models.State(e.ToState)}
		if row.State.Terminal() {
			at := e.At.Time
			row.EndedAt = &at
		}
		out = append(out, row)
	}
	return out
}

// slaContribution is what one ticket counts for in a report, by the report's
// definition, and its duration in microseconds when it counts in the durations.
func slaContribution(r slaRefRow) (slaCounts, *int64) {
	if r.Excluded {
		return slaCounts{Excluded: 1}, nil
	}
	c := slaCounts{Total: 1}
	count := func(n *int64, b bool) {
		if b {
			*n++
		}
	}
	count(&c.Completed, r.State == models.StateCompleted)
	count(&c.Closed, r.State == models.StateClosed)
	count(&c.Escalated, r.Escalated)
	count(&c.AutoActed, r.AutoActed)
	count(&c.FastReviewed, r.FastReviewed)
	count(&c.Lightning, r.Lightning)
	count(&c.RepliedInTime, r.FirstReplyAt.Valid && !r.Late)
	if r.EvaluationScore != nil {
		c.ScoreCount, c.ScoreSum = 1, int64(*r.EvaluationScore)
	}
	if r.EndedAt == nil {
		return c, nil
	}
	us := r.EndedAt.Sub(r.CreatedAt.Time).Microseconds()
	c.Ended, c.DurationUS = 1, us
	c.Durations[slaBucket(us)] = 1
	return c, &us
}

// slaReference is the SLA report of f by its definition, from rows.
func slaReference(rows []slaRefRow, f models.SLAFilter) models.SLAReport {
	rep := models.SLAReport{ShopID: f.ShopID, From: f.From.UTC(), To: f.To.UTC()}
	from, to := f.From.Truncate(time.Microsecond), f.To.Truncate(time.Microsecond)
	var sum slaCounts
	var durations []int64
	for _, r := range rows {
		if (f.ShopID != "" && r.ShopID != f.ShopID) || r.CreatedAt.Before(from) || !r.CreatedAt.Before(to) {
			continue
		}
		c, us := slaContribution(r)
		sum.add(c, 1)
		if us != nil {
			durations = append(durations, *us)
		}
	}
	rep.Total, rep.Excluded, rep.Completed, rep.Closed = sum.Total, sum.Excluded, sum.Completed, sum.Closed
	rep.Escalated, rep.AutoActed, rep.FastReviewed, rep.Lightning = sum.Escalated, sum.AutoActed, sum.FastReviewed, sum.Lightning
	rep.RepliedInTime, rep.SatisfactionCount = sum.RepliedInTime, sum.ScoreCount
	if rep.Total > 0 {
		rep.ReplyRate = float64(rep.RepliedInTime) / float64(rep.Total)
		rep.DisputeRate = float64(rep.Escalated) / float64(rep.Total)
	}
	if sum.ScoreCount > 0 {
		rep.SatisfactionAvg = float64(sum.ScoreSum) / float64(sum.ScoreCount)
	}
	rep.Ended = int64(len(durations))
	if len(durations) > 0 {
		slices.Sort(durations)
		rep.AvgDurationSeconds = float64(sum.DurationUS) / 1e6 / float64(len(durations))
		// Nearest rank: the smallest duration with at least 90% at or below it.
		k := (9*len(durations) + 9) / 10
		rep.P90DurationSeconds = (time.Duration(durations[k-1]) * time.Microsecond).Seconds()
	}
	return rep
}

// checkSLATables compares each table of the aggregate (rows of zeros left
// aside) with what the rows sum to per shop and UTC day or hour.
func checkSLATables(t *testing.T, db *DB, rows []slaRefRow) {
	t.Helper()
	type key struct {
		Shop   string
		Period int64
	}
	for _, g := range slaGrains {
		size := int64(g.size / time.Second)
		want := map[key]slaCounts{}
		for _, r := range rows {
			k := key{r.ShopID, r.CreatedAt.Unix() / size}
			c, _ := slaContribution(r)
			sum := want[k]
			sum.add(c, 1)
			want[k] = sum
		}
		got := map[key]slaCounts{}
		rs, err := db.Gorm().Table(g.table).Select("shop_id, " + g.column + ", " + strings.Join(slaCountColumns, ", ")).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var k key
			var c slaCounts
			if err := rs.Scan(append([]any{&k.Shop, &k.Period}, fieldsOf(&c)...)...); err != nil {
				t.Fatal(err)
			}
			if !c.zero() {
				got[k] = c
			}
		}
		rs.Close()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s has %d rows that differ from the rows' %d:\n%+v\nwant\n%+v", g.table, len(got), len(want), got, want)
		}
	}
}

// TestSLAReportRefusesADriftedAggregate: when the aggregate counts ended tickets
// the tickets do not hold (written by something that did not keep it), the
// report says so rather than give a percentile of the wrong tickets.
func TestSLAReportRefusesADriftedAggregate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		for i := 0; i < 20; i++ {
			mustSave(t, db, slaShape.seedTicket(i))
		}
		if err := db.Gorm().Exec("UPDATE sla_daily SET ended = ended + 100, ended_b63 = ended_b63 + 100").Error; err != nil {
			t.Fatal(err)
		}
		start := slaShape.Now.Add(-time.Duration(slaShape.Days+1) * 24 * time.Hour).Truncate(24 * time.Hour)
		_, err := db.SLAReport(context.Background(), models.SLAFilter{From: start, To: start.Add(30 * 24 * time.Hour)})
		if err == nil || !strings.Contains(err.Error(), "the SLA aggregate and the tickets disagree") {
			t.Fatalf("models.SLAReport on a drifted aggregate: %v, want the disagreement named", err)
		}
	})
}
