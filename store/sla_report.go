package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// slaPeriod is the set of tickets an SLA report covers: created in [from, to)
// (times to the microsecond, UTC), of shop or of every shop when shop is empty.
type slaPeriod struct {
	shop     string
	from, to time.Time
}

// slaHistogram counts ended tickets by duration bucket.
type slaHistogram map[int]int64

// slaSums returns the figures of p and its duration histogram: whole days from
// the aggregate, the rest from the tickets.
func (db *DB) slaSums(ctx context.Context, p slaPeriod) (slaCounts, slaHistogram, error) {
	var sums slaCounts
	hist := slaHistogram{}
	rest := [][2]time.Time{{p.from, p.to}}
	firstDay := p.from.Truncate(24 * time.Hour)
	if firstDay.Before(p.from) {
		firstDay = firstDay.Add(24 * time.Hour)
	}
	lastDay := p.to.Truncate(24 * time.Hour)
	if firstDay.Before(lastDay) {
		if err := db.slaDays(ctx, p.shop, epochDay(firstDay), epochDay(lastDay), &sums, hist); err != nil {
			return sums, nil, err
		}
		rest = [][2]time.Time{{p.from, firstDay}, {lastDay, p.to}}
	}
	for _, r := range rest {
		if r[0].Before(r[1]) {
			if err := db.slaRows(ctx, slaPeriod{p.shop, r[0], r[1]}, &sums, hist); err != nil {
				return sums, nil, err
			}
		}
	}
	return sums, hist, nil
}

// slaDays adds the aggregate of the days [first, last) to sums and hist.
func (db *DB) slaDays(ctx context.Context, shop string, first, last int64, sums *slaCounts, hist slaHistogram) error {
	where := func(q *gorm.DB) *gorm.DB {
		q = q.Where("created_day >= ? AND created_day < ?", first, last)
		if shop != "" {
			q = q.Where("shop_id = ?", shop)
		}
		return q
	}
	sel := ""
	for i, col := range slaCountColumns {
		if i > 0 {
			sel += ", "
		}
		sel += fmt.Sprintf("COALESCE(SUM(%s), 0)", col)
	}
	var c slaCounts
	if err := where(db.gdb.WithContext(ctx).Table("sla_daily")).Select(sel).Row().Scan(fieldsOf(&c)...); err != nil {
		return err
	}
	sums.add(c, 1)
	return scanHistogram(where(db.gdb.WithContext(ctx).Table("sla_daily_durations")).
		Select("bucket, SUM(n)").Group("bucket"), hist)
}

// slaRows adds the figures of the tickets of p to sums and hist.
func (db *DB) slaRows(ctx context.Context, p slaPeriod, sums *slaCounts, hist slaHistogram) error {
	tickets := func() *gorm.DB {
		q := db.gdb.WithContext(ctx).Model(&ticketRow{}).Where("created_at >= ? AND created_at < ?", ts(p.from), ts(p.to))
		if p.shop != "" {
			q = q.Where("shop_id = ?", p.shop)
		}
		return q
	}
	var c slaCounts
	if err := tickets().Select(slaSumsSQL).Row().Scan(fieldsOf(&c)...); err != nil {
		return err
	}
	sums.add(c, 1)
	return scanHistogram(tickets().Select("sla_bucket, COUNT(*)").Where("sla_bucket IS NOT NULL").Group("sla_bucket"), hist)
}

func fieldsOf(c *slaCounts) []any {
	var out []any
	for _, f := range c.fields() {
		out = append(out, f)
	}
	return out
}

func scanHistogram(q *gorm.DB, hist slaHistogram) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b int
		var n int64
		if err := rows.Scan(&b, &n); err != nil {
			return err
		}
		hist[b] += n
	}
	return rows.Err()
}

// slaNth returns the rank-th shortest duration (1-based, microseconds) of the
// ended tickets of p: hist says which bucket holds it, and the tickets of that
// bucket in p say which one it is.
func (db *DB) slaNth(ctx context.Context, p slaPeriod, hist slaHistogram, rank int64) (int64, error) {
	buckets := make([]int, 0, len(hist))
	for b := range hist {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	below := int64(0)
	for _, b := range buckets {
		if rank > below+hist[b] {
			below += hist[b]
			continue
		}
		q := db.gdb.WithContext(ctx).Model(&ticketRow{}).Select("sla_duration_us").
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
	return 0, fmt.Errorf("the SLA aggregate counts %d ended tickets but the tickets do not hold the one of rank %d", below, rank)
}
