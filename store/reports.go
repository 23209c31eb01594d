package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/aftersales/aftersales/models"
)

// SLAReport computes the report of f. To must be after From. Whole UTC days of
// the period are read from the per-shop-per-day aggregate (sla_aggregate.go), whole
// hours of the days it cuts from the per-hour one, the rest from the tickets;
// the 90th percentile duration is read from the tickets of the one duration
// bucket that holds it.
func (db *DB) SLAReport(ctx context.Context, f models.SLAFilter) (models.SLAReport, error) {
	if f.From.IsZero() || f.To.IsZero() || !f.To.After(f.From) {
		return models.SLAReport{}, models.Errorf(models.EINVALID,
			"report period is not valid: give from and to with to after from (got %s to %s)",
			f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339))
	}
	rep := models.SLAReport{ShopID: f.ShopID, From: f.From.UTC(), To: f.To.UTC()}
	// Times are compared as the database stores them: to the microsecond.
	p := slaPeriod{shop: f.ShopID, from: rep.From.Truncate(time.Microsecond), to: rep.To.Truncate(time.Microsecond)}
	// The sums and the 90th percentile are separate reads: a ticket that ends
	// or changes in between can leave the percentile's rank out of its bucket.
	// Reading again then gives figures of one moment.
	var sums slaCounts
	var p90 int64
	for attempt := 1; ; attempt++ {
		var err error
		if sums, err = db.slaSums(ctx, p); err != nil {
			return models.SLAReport{}, dbError(err, "SLA report")
		}
		if sums.Ended == 0 {
			break
		}
		rank := int64(math.Ceil(0.9 * float64(sums.Ended)))
		us, found, err := db.slaNth(ctx, p, sums.Durations, rank)
		if err != nil {
			return models.SLAReport{}, dbError(err, "SLA report: 90th percentile duration")
		}
		if found {
			p90 = us
			break
		}
		if attempt == 3 {
			return models.SLAReport{}, fmt.Errorf("store: SLA report: the SLA aggregate and the tickets disagree: no ended ticket of rank %d in the period", rank)
		}
	}
	rep.Total, rep.Excluded = sums.Total, sums.Excluded
	rep.Completed, rep.Closed, rep.Escalated = sums.Completed, sums.Closed, sums.Escalated
	rep.AutoActed, rep.FastReviewed, rep.Lightning = sums.AutoActed, sums.FastReviewed, sums.Lightning
	rep.RepliedInTime, rep.SatisfactionCount = sums.RepliedInTime, sums.ScoreCount
	if rep.Total > 0 {
		rep.ReplyRate = float64(sums.RepliedInTime) / float64(rep.Total)
		rep.DisputeRate = float64(sums.Escalated) / float64(rep.Total)
	}
	if sums.ScoreCount > 0 {
		rep.SatisfactionAvg = float64(sums.ScoreSum) / float64(sums.ScoreCount)
	}
	// Durations: from created_at to ended_at of the assessed tickets that ended;
	// P90 is the nearest-rank 90th percentile.
	rep.Ended = sums.Ended
	if rep.Ended > 0 {
		rep.AvgDurationSeconds = float64(sums.DurationUS) / 1e6 / float64(rep.Ended)
		rep.P90DurationSeconds = (time.Duration(p90) * time.Microsecond).Seconds()
	}
	return rep, nil
}

// Default and maximum length of each warnings list.
const (
	DefaultWarningsLimit = 20
	MaxWarningsLimit     = 200
)

// Warnings lists, for shopID (all shops when empty), up to limit open tickets
// (state neither completed nor closed) whose deadline_at <= now+within, soonest
// first, and up to limit open tickets by age, oldest first. limit 0 means 20.
func (db *DB) Warnings(ctx context.Context, shopID string, within time.Duration, now time.Time, limit int) (models.Warnings, error) {
	switch {
	case within < 0:
		return models.Warnings{}, models.Errorf(models.EINVALID, "within %s is negative: give how far ahead to look, e.g. 24h", within)
	case limit < 0:
		return models.Warnings{}, models.Errorf(models.EINVALID, "limit %d is negative", limit)
	case limit == 0:
		limit = DefaultWarningsLimit
	case limit > MaxWarningsLimit:
		limit = MaxWarningsLimit
	}
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	w := models.Warnings{ShopID: shopID, Now: now, WithinSeconds: int64(within / time.Second)}
	open := func() *gorm.DB {
		q := db.gdb.WithContext(ctx).Model(&ticketRow{}).
			Select("id, order_id, shop_id, buyer_id, kind, state, escalated, deadline_name, deadline_at, created_at").
			Where("is_open = ?", true) // state neither completed nor closed
		if shopID != "" {
			q = q.Where("shop_id = ?", shopID)
		}
		return q
	}
	var due, old []ticketRow
	dueSoon := open()
	if shopID != "" {
		// A shop's deadlines in order, not every shop's until enough are the
		// shop's.
		dueSoon = db.ticketsIndexedBy(dueSoon, "idx_tickets_shop_deadline")
	}
	if err := dueSoon.Where("deadline_at IS NOT NULL AND deadline_at <= ?", ts(now.Add(within))).
		Order("deadline_at, id").Limit(limit).Find(&due).Error; err != nil {
		return models.Warnings{}, dbError(err, "warnings: deadlines")
	}
	if err := open().Order("created_at, id").Limit(limit).Find(&old).Error; err != nil {
		return models.Warnings{}, dbError(err, "warnings: longest open")
	}
	w.DueSoon = warningTickets(due, now)
	w.LongestOpen = warningTickets(old, now)
	return w, nil
}

func warningTickets(rows []ticketRow, now time.Time) []models.WarningTicket {
	out := make([]models.WarningTicket, 0, len(rows))
	for _, r := range rows {
		wt := models.WarningTicket{
			ID: r.ID, OrderID: r.OrderID, ShopID: r.ShopID, BuyerID: r.BuyerID, Kind: r.Kind, State: r.State,
			Escalated: r.Escalated, DeadlineName: r.DeadlineName, DeadlineAt: r.DeadlineAt.Ptr(),
			CreatedAt: r.CreatedAt.Time, OpenSeconds: int64(now.Sub(r.CreatedAt.Time) / time.Second),
		}
		if wt.DeadlineAt != nil {
			left := int64(wt.DeadlineAt.Sub(now) / time.Second)
			wt.SecondsLeft = &left
			wt.Overdue = !wt.DeadlineAt.After(now)
		}
		out = append(out, wt)
	}
	return out
}
