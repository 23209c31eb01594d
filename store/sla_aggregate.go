package store

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The SLA aggregate: what SLAReport sums, kept by the projection per shop and
// per UTC day (sla_daily) and hour (sla_hourly) of created_at, so a report over
// months reads a few thousand rows instead of every ticket.
//
// Each row holds, for its shop and period, the counters of the report, the
// number and summed duration (microseconds) of the ended tickets, and how many
// of those ended in each duration bucket (slaBucketBounds; columns ended_b00 to
// ended_b63): enough to find which bucket holds the 90th percentile, which is
// then read exactly from the tickets of that bucket (tickets.sla_bucket,
// tickets.sla_duration_us). Periods are numbered from 1970-01-01 UTC
// (created_day, created_hour).
//
// The rows a ticket contributes to are changed in the transaction that writes
// the ticket, by the difference between the ticket's old and new row, so
// replays and stale writes (which change no ticket row) change no aggregate
// either.

// slaBuckets is the number of duration buckets.
const slaBuckets = 64

// slaBucketBounds are the lower bounds, in microseconds, of the duration buckets
// 1 to 63: bucket 0 holds durations under a minute, bucket i those from bound
// i-1 (included) to bound i, each bound a quarter above the one before, the
// last at about 1.9 years. They are part of schema version 12 (its back-fill
// writes them): never change them.
var slaBucketBounds = func() []int64 {
	bounds := []int64{60_000_000}
	for len(bounds) < slaBuckets-1 {
		last := bounds[len(bounds)-1]
		bounds = append(bounds, last+last/4)
	}
	return bounds
}()

// slaBucket is the duration bucket of us microseconds.
func slaBucket(us int64) int {
	return sort.Search(len(slaBucketBounds), func(i int) bool { return slaBucketBounds[i] > us })
}

// slaBucketSQL renders slaBucket of the SQL expression col as a CASE.
func slaBucketSQL(col string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, bound := range slaBucketBounds {
		fmt.Fprintf(&b, " WHEN %s < %d THEN %d", col, bound, i)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(slaBucketBounds))
	return b.String()
}

// slaGrain is one level of the aggregate: a table holding the figures per shop
// and per period of size (a UTC day or hour) of created_at, numbered from
// 1970-01-01 in column.
type slaGrain struct {
	table, column string
	size          time.Duration
}

// slaGrains are the levels of the aggregate, coarsest first: a report reads
// whole days from sla_daily, whole hours of the days it cuts from sla_hourly,
// and the tickets of the hours it cuts.
var slaGrains = []slaGrain{
	{"sla_daily", "created_day", 24 * time.Hour},
	{"sla_hourly", "created_hour", time.Hour},
}

// of is the number of the period of g that holds t.
func (g slaGrain) of(t time.Time) int64 {
	s, size := t.Unix(), int64(g.size/time.Second)
	n := s / size
	if s%size < 0 {
		n--
	}
	return n
}

// slaCounts are the additive figures of one row of the aggregate, in column
// order.
type slaCounts struct {
	Total, Excluded, Completed, Closed, Escalated, AutoActed, FastReviewed, Lightning int64
	RepliedInTime, ScoreSum, ScoreCount, Ended, DurationUS                            int64
	// Durations counts the ended tickets by duration bucket.
	Durations [slaBuckets]int64
}

// slaCountColumns names the columns of the aggregate that hold slaCounts, in
// order.
var slaCountColumns = func() []string {
	cols := []string{"total", "excluded_count", "completed", "closed", "escalated", "auto_acted",
		"fast_reviewed", "lightning_refund", "replied_in_time", "score_sum", "score_count", "ended", "duration_us"}
	for i := 0; i < slaBuckets; i++ {
		cols = append(cols, fmt.Sprintf("ended_b%02d", i))
	}
	return cols
}()

// fields returns pointers to the figures in column order; the first
// slaScalarCount are the counters, the rest Durations.
func (c *slaCounts) fields() []*int64 {
	f := []*int64{&c.Total, &c.Excluded, &c.Completed, &c.Closed, &c.Escalated, &c.AutoActed,
		&c.FastReviewed, &c.Lightning, &c.RepliedInTime, &c.ScoreSum, &c.ScoreCount, &c.Ended, &c.DurationUS}
	for i := range c.Durations {
		f = append(f, &c.Durations[i])
	}
	return f
}

// slaScalarCount is the number of figures before Durations.
const slaScalarCount = 13

func (c *slaCounts) add(o slaCounts, sign int64) {
	mine, theirs := c.fields(), o.fields()
	for i := range mine {
		*mine[i] += sign * *theirs[i]
	}
}

func (c slaCounts) zero() bool { return c == slaCounts{} }

// slaCountsOf is what one ticket row adds to its rows: the definitions
// of SLAReport, ticket by ticket. A ticket excluded from assessment counts in
// Excluded only.
func slaCountsOf(r ticketRow) slaCounts {
	one := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	if r.ExcludedFromAssessment {
		return slaCounts{Excluded: 1}
	}
	c := slaCounts{
		Total: 1, Completed: one(r.State == "completed"), Closed: one(r.State == "closed"),
		Escalated: one(r.Escalated), AutoActed: one(r.AutoActed), FastReviewed: one(r.FastReviewed),
		Lightning: one(r.LightningRefund), RepliedInTime: one(r.FirstReplyAt.Valid && !r.ReplyLate),
	}
	if r.EvaluationScore != nil {
		c.ScoreSum, c.ScoreCount = int64(*r.EvaluationScore), 1
	}
	if r.SLADurationUS != nil {
		c.Ended, c.DurationUS = 1, *r.SLADurationUS
		c.Durations[*r.SLABucket] = 1
	}
	return c
}

// slaDuration sets the SLA columns of r: the duration from created_at to
// ended_at in microseconds, as the database stores both, and its bucket, for an
// ended ticket that is assessed; neither otherwise.
func (r *ticketRow) slaDuration() {
	r.SLADurationUS, r.SLABucket = nil, nil
	if !r.EndedAt.Valid || r.ExcludedFromAssessment {
		return
	}
	us := int64(r.EndedAt.Time.Truncate(time.Microsecond).Sub(r.CreatedAt.Truncate(time.Microsecond)) / time.Microsecond)
	b := slaBucket(us)
	r.SLADurationUS, r.SLABucket = &us, &b
}

// slaDelta accumulates what a set of ticket changes does to the aggregate.
type slaDelta map[slaKey]slaCounts

// slaKey names a row of the aggregate: the grain (index in slaGrains), the
// shop and the period.
type slaKey struct {
	grain  int
	shop   string
	period int64
}

// change records that a ticket row went from old (nil: it did not exist) to new.
func (d slaDelta) change(old *ticketRow, new ticketRow) {
	if old != nil {
		d.row(*old, -1)
	}
	d.row(new, 1)
}

func (d slaDelta) row(r ticketRow, sign int64) {
	c := slaCountsOf(r)
	for g, grain := range slaGrains {
		k := slaKey{g, r.ShopID, grain.of(r.CreatedAt.Time)}
		sum := d[k]
		sum.add(c, sign)
		d[k] = sum
	}
}

// apply writes the delta in tx, one row per grain, shop and period that
// changes, in key order so concurrent writers take their locks in the same
// order.
func (d slaDelta) apply(tx *gorm.DB, dialect string) error {
	keys := make([]slaKey, 0, len(d))
	for k, c := range d {
		if !c.zero() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b slaKey) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), strings.Compare(a.shop, b.shop), cmp.Compare(a.period, b.period))
	})
	for _, k := range keys {
		if err := upsertSLA(tx, dialect, k, d[k]); err != nil {
			return err
		}
	}
	return nil
}

// upsertSLA adds c to the row k of the aggregate, creating it. Only the columns
// c changes are named.
func upsertSLA(tx *gorm.DB, dialect string, k slaKey, c slaCounts) error {
	g := slaGrains[k.grain]
	cols, args, sets := []string{"shop_id", g.column}, []any{k.shop, k.period}, []string{}
	for i, f := range c.fields() {
		if *f == 0 {
			continue
		}
		col := slaCountColumns[i]
		cols, args = append(cols, col), append(args, *f)
		sets = append(sets, col+" = "+col+" + "+upsertValue(dialect, col))
	}
	q := "INSERT INTO " + g.table + " (" + strings.Join(cols, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)-1) + ") " +
		upsertClause(dialect, "shop_id, "+g.column) + strings.Join(sets, ", ")
	return tx.Exec(q, args...).Error
}

func upsertClause(dialect, key string) string {
	if dialect == DialectMySQL {
		return "ON DUPLICATE KEY UPDATE "
	}
	return "ON CONFLICT (" + key + ") DO UPDATE SET "
}

func upsertValue(dialect, col string) string {
	if dialect == DialectMySQL {
		return "VALUES(" + col + ")"
	}
	return "excluded." + col
}
