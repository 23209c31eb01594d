package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"

	"github.com/aftersales/aftersales/models"
)

// seedShape is the shape of a seeded read model: how many tickets, shops and
// buyers, spread over the days before now.
type seedShape struct {
	Tickets, Shops, Buyers, Days int
	Now                          time.Time
	Seed                         uint64
}

// benchNow is the instant a seeded data set ends at: deliberately not on a day
// boundary, as the API's default report period (the last 30 days) is not.
var benchNow = time.Date(2026, 12, 7, 14, 23, 17, 456789000, time.UTC)

var openStates = []models.State{
	models.StatePendingReview, models.StatePendingReview, models.StatePendingReview,
	models.StateNegotiating, models.StateRejected, models.StateAwaitingPickup,
	models.StateAwaitingBuyerShipment, models.StateInTransit, models.StateAwaitingInspection,
	models.StateRefunding, models.StateReplacementShipping, models.StateRepairing, models.StateEscalated,
}

// seedTicket returns ticket i of shape s, with six timeline entries: what the
// workflow hands the projection after six decisions. Tickets are created in
// order of i, evenly over s.Days before s.Now, with a pseudo-random life: those
// whose life has run out by Now ended (completed or closed) and carry no
// deadline; the others are open in some state with a deadline around Now.
func (s seedShape) seedTicket(i int) models.Ticket {
	r := rand.New(rand.NewPCG(s.Seed, uint64(i)))
	span := time.Duration(s.Days) * 24 * time.Hour
	step := span / time.Duration(s.Tickets)
	created := s.Now.Add(-span).Add(time.Duration(i)*step + time.Duration(r.Int64N(int64(step)+1))).Truncate(time.Microsecond)
	kinds := []models.Kind{models.KindRefundOnly, models.KindRefundOnly, models.KindReturnRefund,
		models.KindReturnRefund, models.KindExchange, models.KindRepair, models.KindPriceProtection}
	kind := kinds[r.IntN(len(kinds))]
	method := models.ReturnPickup
	switch {
	case kind == models.KindRefundOnly || kind == models.KindPriceProtection:
		method = models.ReturnNone
	case r.IntN(3) == 0:
		method = models.ReturnSelfShip
	}
	reasons := []models.ReasonCode{models.ReasonQuality, models.ReasonDamaged, models.ReasonNoReason, models.ReasonNotAsDescribed}
	cents := 500 + r.Int64N(200000)
	t := models.Ticket{
		ID:      fmt.Sprintf("AS%s%010d", created.Format("20060102"), i),
		OrderID: fmt.Sprintf("o-%d", 10_000_000+i), ShopID: fmt.Sprintf("shop-%02d", 1+r.IntN(s.Shops)),
		BuyerID: fmt.Sprintf("buyer-%05d", 1+r.IntN(s.Buyers)), Kind: kind, State: models.StatePendingReview,
		ReturnMethod: method, ReasonCode: reasons[r.IntN(len(reasons))],
		Reason:         "the item does not match the listing photos; asking for the after-sales service",
		RequestedCents: cents, Currency: "CNY", PolicyVersion: "v1",
		Order: models.OrderInfo{PaidCents: cents + r.Int64N(5000), PaidAt: created.Add(-72 * time.Hour),
			Shipped: true, Delivered: true, FreightInsurance: r.IntN(2) == 0},
		Items:   []models.Item{{SKU: fmt.Sprintf("SKU-%04d", r.IntN(3000)), Qty: 1, UnitPaidCents: cents}},
		Refunds: models.Money{}, ReturnShippingPayer: "buyer", BuyerCredit: r.IntN(6),
		CreatedAt: created, Seq: 6,
	}
	if method == models.ReturnPickup {
		t.PickupAddress = "1 West Lake Rd, Hangzhou"
	}
	t.Flags.FastReviewed = r.IntN(5) == 0
	t.Flags.LightningRefund = kind == models.KindRefundOnly && r.IntN(4) == 0
	t.Flags.ExcludedFromAssessment = r.IntN(30) == 0
	t.Flags.AutoActed = r.IntN(10) == 0
	if r.IntN(12) == 0 {
		t.Flags.Escalated = true
		t.Escalations = 1
	}
	if r.IntN(20) < 17 {
		reply := created.Add(5*time.Minute + time.Duration(r.Int64N(int64(30*time.Hour)))).Truncate(time.Microsecond)
		if reply.Before(s.Now) {
			t.FirstReplyAt = &reply
			t.Flags.ReplyLate = reply.Sub(created) > 24*time.Hour
			t.Replies = 1
		}
	}

	// A log-normal life: median about 40 hours, from minutes to weeks.
	life := time.Duration(float64(10*time.Minute) * math.Exp(5.5+1.3*r.NormFloat64()))
	life = min(max(life, 3*time.Minute), 40*24*time.Hour).Truncate(time.Microsecond)
	last := s.Now.Add(-time.Duration(r.Int64N(int64(time.Hour))))
	final := models.State("")
	if end := created.Add(life); end.Before(s.Now) {
		last = end
		final = models.StateCompleted
		t.Outcome = models.OutcomeRefunded
		t.RefundedCents = cents
		if r.IntN(6) == 0 {
			final, t.Outcome, t.RefundedCents = models.StateClosed, models.OutcomeRejected, 0
		}
		t.EndedAt = &end
		if r.IntN(5) < 2 {
			t.Evaluation = &models.Evaluation{Score: 1 + r.IntN(5), At: end}
		}
	} else {
		final = openStates[r.IntN(len(openStates))]
		if t.Flags.Escalated {
			final = models.StateEscalated
		}
		if final != models.StateEscalated || r.IntN(2) == 0 {
			at := s.Now.Add(time.Duration(r.Int64N(int64(78*time.Hour))) - 6*time.Hour).Truncate(time.Microsecond)
			t.Deadline = &models.Deadline{Name: "review_by", At: at}
		}
	}
	if last.Before(created) {
		last = created
	}
	t.State = final
	// Six entries from created to the last change: open, three notes, two moves.
	states := []models.State{"", models.StatePendingReview, models.StatePendingReview, models.StatePendingReview,
		models.StatePendingReview, models.StateAwaitingPickup, final}
	actions := []string{"create", "reply", "evidence", "approve", "ship", "decide"}
	for k := 0; k < 6; k++ {
		at := created.Add(last.Sub(created) * time.Duration(k) / 5).Truncate(time.Microsecond)
		if k == 5 {
			at = last.Truncate(time.Microsecond)
		}
		t.Timeline = append(t.Timeline, models.Event{
			Seq: int64(k + 1), At: at, Actor: t.BuyerID, Role: models.RoleBuyer, Action: actions[k],
			From: states[k], To: states[k+1], Note: "seeded", RequestID: fmt.Sprintf("req-%d-%d", i, k),
		})
	}
	t.UpdatedAt = t.Timeline[5].At
	return t
}

// seed writes the tickets of s as the projection would (the rows come from
// rowOf and eventRowsOf, what SaveTicket writes), in transactions of a few
// thousand tickets with multi-row inserts, so a million tickets take minutes.
// The database must hold no ticket of s yet.
func (s seedShape) seed(ctx context.Context, db *DB, progress func(done int)) error {
	const batch = 2000
	for lo := 0; lo < s.Tickets; lo += batch {
		hi := min(lo+batch, s.Tickets)
		tickets := make([]models.Ticket, 0, hi-lo)
		for i := lo; i < hi; i++ {
			tickets = append(tickets, s.seedTicket(i))
		}
		if err := db.seedTickets(ctx, tickets); err != nil {
			return err
		}
		if progress != nil {
			progress(hi)
		}
	}
	return nil
}

// seedTickets inserts new tickets in one transaction, each as SaveTicket would
// write it on its first save: the same rows, and the same change to the SLA
// aggregate (summed over the batch before it is written).
func (db *DB) seedTickets(ctx context.Context, tickets []models.Ticket) error {
	rows := make([]ticketRow, 0, len(tickets))
	var events []eventRow
	delta := slaDelta{}
	for _, t := range tickets {
		row, err := rowOf(t)
		if err != nil {
			return err
		}
		rows = append(rows, row)
		events = append(events, eventRowsOf(t)...)
		delta.change(nil, row)
	}
	return db.inTx(ctx, func(tx *gorm.DB) error {
		if err := delta.apply(tx, db.dialect); err != nil {
			return err
		}
		// Small statements: the SQLite driver binds arguments in time quadratic in
		// their number, so ten rows a statement insert fastest.
		if err := tx.CreateInBatches(&rows, 10).Error; err != nil {
			return err
		}
		return tx.CreateInBatches(&events, 30).Error
	})
}
