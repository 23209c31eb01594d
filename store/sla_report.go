package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// slaPeriod is the set of tickets an SLA report covers: created in [from, to)
// (times to the microsecond, UTC), of shop or of every shop when shop is empty.
type slaPeriod struct {
	shop     string
	from, to time.Time
}

// slaSums returns the figures of p: whole days from the aggregate, the rest
// from the tickets.
func (db *DB) slaSums(ctx context.Context, p slaPeriod) (slaCounts, error) {
	var sums slaCounts
	rest := [][2]time.Time{{p.from, p.to}}
	firstDay := p.from.Truncate(24 * time.Hour)
	if firstDay.Before(p.from) {
		firstDay = firstDay.Add(24 * time.Hour)
	}
	lastDay := p.to.Truncate(24 * time.Hour)
	if firstDay.Before(lastDay) {
		if err := db.slaDays(ctx, p.shop, epochDay(firstDay), epochDay(lastDay), &sums); err != nil {
			return sums, err
		}
		rest = [][2]time.Time{{p.from, firstDay}, {lastDay, p.to}}
	}
	for _, r := range rest {
		if r[0].Before(r[1]) {
			if err := db.slaRows(ctx, slaPeriod{p.shop, r[0], r[1]}, &sums); err != nil {
				return sums, err
			}
		}
	}
	return sums, nil
}

// slaDays adds the aggregate of the days [first, last) to sums.
func (db *DB) slaDays(ctx context.Context, shop string, first, last int64, sums *slaCounts) error {
	q := db.gdb.WithContext(ctx).Table("sla_daily").Where("created_day >= ? AND created_day < ?", first, last)
	if shop != "" {
		q = q.Where("shop_id = ?", shop)
	}
	sel := make([]string, len(slaCountColumns))
	for i, col := range slaCountColumns {
		sel[i] = "COALESCE(SUM(" + col + "), 0)"
	}
	var c slaCounts
	if err := q.Select(strings.Join(sel, ", ")).Row().Scan(fieldsOf(&c)...); err != nil {
		return err
	}
	sums.add(c, 1)
	return nil
}

// slaRows adds the figures of the tickets of p to sums, in one pass grouped by
// duration bucket.
func (db *DB) slaRows(ctx context.Context, p slaPeriod, sums *slaCounts) error {
	q := db.gdb.WithContext(ctx).Model(&ticketRow{}).Where("created_at >= ? AND created_at < ?", ts(p.from), ts(p.to))
	if p.shop != "" {
		q = q.Where("shop_id = ?", p.shop)
	}
	rows, err := q.Select("sla_bucket, " + slaSumsSQL).Group("sla_bucket").Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var bucket sql.NullInt64
		var c slaCounts
		if err := rows.Scan(append([]any{&bucket}, fieldsOf(&c)[:slaScalarCount]...)...); err != nil {
			return err
		}
		if bucket.Valid {
			c.Durations[bucket.Int64] = c.Ended
		}
		sums.add(c, 1)
	}
	return rows.Err()
}

func fieldsOf(c *slaCounts) []any {
	var out []any
	for _, f := range c.fields() {
		out = append(out, f)
	}
	return out
}

// slaNth returns the rank-th shortest duration (1-based, microseconds) of the
// ended tickets of p, counted by bucket in durations: they say which bucket
// holds it, and the tickets of that bucket in p say which one it is.
func (db *DB) slaNth(ctx context.Context, p slaPeriod, durations [slaBuckets]int64, rank int64) (int64, error) {
	below := int64(0)
	for b, n := range durations {
		if rank > below+n {
			below += n
			continue
		}
		q := db.gdb.WithContext(ctx).Model(&ticketRow{}).
			Where("sla_bucket = ? AND created_at >= ? AND created_at < ?", b, ts(p.from), ts(p.to))
		if p.shop != "" {
			q = q.Where("shop_id = ?", p.shop)
		}
		var us []int64
		if err := q.Order("sla_duration_us").Offset(int(rank-below-1)).Limit(1).Pluck("sla_duration_us", &us).Error; err != nil {
			return 0, err
		}
		if len(us) == 1 {
			return us[0], nil
		}
		break
	}
	return 0, fmt.Errorf("the SLA aggregate and the tickets disagree: no ended ticket of rank %d in the period", rank)
}
