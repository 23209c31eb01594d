package store

import (
	"context"
)

// Stats are the business figures /metrics exports, read from the read model at
// scrape time so that every API replica reports the same numbers.
type Stats struct {
	Tickets   []TicketCount `json:"tickets"`
	Refunds   []RefundCount `json:"refunds"`
	Breaches  int64         `json:"breaches"`  // tickets whose seller missed refund_by
	Escalated int64         `json:"escalated"` // tickets that went to the platform
}

// TicketCount is how many tickets are in a state, by kind.
type TicketCount struct {
	State, Kind string
	N           int64
}

// RefundCount is the ledger by purpose and status: how many keys and their amount.
type RefundCount struct {
	Purpose, Status string
	N, Cents        int64
}

// Stats reads the figures.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	var s Stats
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
