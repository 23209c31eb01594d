package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// slaPeriod is the set of tickets an SLA report covers: created in [from, to)
// (times to the microsecond, UTC), of shop or of every shop when shop is empty.
type slaPeriod struct {
	shop     string
	from, to time.Time
}

// slaSums returns the figures of p.
func (db *DB) slaSums(ctx context.Context, p slaPeriod) (slaCounts, error) {
	var sums slaCounts
	err := db.slaSpan(ctx, p, 0, &sums)
	return sums, err
}

// slaSpan adds the figures of p to sums: the whole periods of grain g it holds
// from that grain's table, the parts it cuts at either end from the finer
// grains, and what no grain covers from the tickets.
func (db *DB) slaSpan(ctx context.Context, p slaPeriod, g int, sums *slaCounts) error {
	if !p.from.Before(p.to) {
		return nil
	}
	if g == len(slaGrains) {
		return db.slaRows(ctx, p, sums)
	}
	grain := slaGrains[g]
	first := p.from.Truncate(grain.size)
	if first.Before(p.from) {
		first = first.Add(grain.size)
	}
	last := p.to.Truncate(grain.size)
	if !first.Before(last) {
		return db.slaSpan(ctx, p, g+1, sums)
	}
	if err := db.slaAggregate(ctx, grain, p.shop, grain.of(first), grain.of(last), sums); err != nil {
		return err
	}
	if err := db.slaSpan(ctx, slaPeriod{p.shop, p.from, first}, g+1, sums); err != nil {
		return err
	}
	return db.slaSpan(ctx, slaPeriod{p.shop, last, p.to}, g+1, sums)
}

// slaAggregate adds the rows of grain for the periods [first, last) to sums.
func (db *DB) slaAggregate(ctx context.Context, grain slaGrain, shop string, first, last int64, sums *slaCounts) error {
	q := db.gdb.WithContext(ctx).Table(grain.table).Where(grain.column+" >= ? AND "+grain.column+" < ?", first, last)
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
// holds it, and the tickets of that bucket in p say which one it is. found is
// false when the tickets hold fewer than durations says (they changed since).
func (db *DB) slaNth(ctx context.Context, p slaPeriod, durations [slaBuckets]int64, rank int64) (us int64, found bool, err error) {
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
		var got []int64
		if err := q.Order("sla_duration_us").Offset(int(rank-below-1)).Limit(1).Pluck("sla_duration_us", &got).Error; err != nil {
			return 0, false, err
		}
		if len(got) == 1 {
			return got[0], true, nil
		}
		break
	}
	return 0, false, nil
}
