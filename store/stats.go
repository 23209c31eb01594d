package store

import (
	"context"

	"github.com/aftersales/aftersales/models"
)

type TicketCount = models.TicketCount

type RefundCount = models.RefundCount

// Stats reads the figures.
func (db *DB) Stats(ctx context.Context) (models.Stats, error) {
	var s models.Stats
	g := db.gdb.WithContext(ctx)
	if err := g.Model(&ticketRow{}).Select("state, kind, count(*) AS n").Group("state, kind").Scan(&s.Tickets).Error; err != nil {
		return s, dbError(err, "ticket counts")
	}
	if err := g.Model(&refundRow{}).Select("purpose, status, count(*) AS n, coalesce(sum(amount_cents), 0) AS cents").
		Group("purpose, status").Scan(&s.Refunds).Error; err != nil {
		return s, dbError(err, "refund counts")
	}
	if err := g.Model(&ticketRow{}).Where("seller_breach = ?", true).Count(&s.Breaches).Error; err != nil {
		return s, dbError(err, "breaches")
	}
	err := g.Model(&ticketRow{}).Where("escalated = ?", true).Count(&s.Escalated).Error
	return s, dbError(err, "escalations")
}
