package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

type orderRow struct {
	ShopID           string `gorm:"primaryKey"`
	OrderID          string `gorm:"primaryKey"`
	BuyerID          string
	PaidCents        int64
	Currency         string
	PaidAt           dbTime
	ShippedAt        nullTime
	DeliveredAt      nullTime
	FreightInsurance bool
	SelfOperated     bool
	Items            string
	CreatedAt        dbTime `gorm:"autoCreateTime:false"`
	UpdatedAt        dbTime `gorm:"autoUpdateTime:false"`
}

func (orderRow) TableName() string { return "orders" }

func (r orderRow) export() models.Order {
	o := models.Order{OrderID: r.OrderID, OrderFacts: models.OrderFacts{ShopID: r.ShopID, BuyerID: r.BuyerID,
		PaidCents: r.PaidCents, Currency: r.Currency, PaidAt: r.PaidAt.Time, ShippedAt: r.ShippedAt.Ptr(),
		DeliveredAt: r.DeliveredAt.Ptr(), FreightInsurance: r.FreightInsurance, SelfOperated: r.SelfOperated},
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
	_ = json.Unmarshal([]byte(r.Items), &o.Items)
	o.Normalize()
	return o
}

func orderRowOf(o models.Order, created, now dbTime) orderRow {
	items, _ := json.Marshal(o.Items)
	return orderRow{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, PaidCents: o.PaidCents,
		Currency: o.Currency, PaidAt: dbTime{o.PaidAt.UTC()}, ShippedAt: nullTimeOf(o.ShippedAt),
		DeliveredAt: nullTimeOf(o.DeliveredAt), FreightInsurance: o.FreightInsurance, SelfOperated: o.SelfOperated,
		Items: string(items), CreatedAt: created, UpdatedAt: now}
}

// PutOrder registers or updates an order record and says whether it was new.
// An order is identified by (o.ShopID, o.OrderID): another shop's order of the
// same id is another record (DESIGN §2 Trust). Once a ticket exists for the
// order, its buyer, paid amount and currency may not change (ECONFLICT naming
// them): the order's refund cap and every ticket's trust inputs were read from
// them. The cap follows the record.
func (db *DB) PutOrder(ctx context.Context, o models.Order) (saved models.Order, created bool, err error) {
	for range 3 { // two first registrations at once: the loser updates the winner's row
		saved, created, err = db.putOrder(ctx, o)
		if !errors.Is(err, errRaced) {
			break
		}
	}
	return saved, created, dbError(err, "save order %s of shop %s", o.OrderID, o.ShopID)
}

var errRaced = errors.New("registered by another request at the same time")

func (db *DB) putOrder(ctx context.Context, o models.Order) (saved models.Order, created bool, err error) {
	err = db.inTx(ctx, func(tx *gorm.DB) error {
		var was orderRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("shop_id = ? AND order_id = ?", o.ShopID, o.OrderID).Take(&was).Error
		now := dbNow()
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			row := orderRowOf(o, now, now)
			if err := tx.Create(&row).Error; isDuplicate(err) {
				return errRaced
			} else if err != nil {
				return err
			}
			saved = row.export()
		case err != nil:
			return err
		default:
			if changed := models.FixedFacts(was.export(), o); len(changed) > 0 {
				var n int64
				if err := tx.Model(&ticketRow{}).Where("shop_id = ? AND order_id = ?", o.ShopID, o.OrderID).Count(&n).Error; err != nil {
					return err
				}
				if n > 0 {
					return models.Errorf(models.ECONFLICT, "order %s has %d ticket(s): its %s can no longer change", o.OrderID, n, strings.Join(changed, ", "))
				}
			}
			row := orderRowOf(o, was.CreatedAt, now)
			if err := tx.Save(&row).Error; err != nil {
				return err
			}
			saved = row.export()
		}
		// The refund cap of the order is what the record says was paid.
		return tx.Model(&orderTotalRow{}).Where("shop_id = ? AND order_id = ?", o.ShopID, o.OrderID).Update("paid_cents", o.PaidCents).Error
	})
	return saved, created, err
}

// Order returns the order record alone (no ticket ids, no refunded total): what
// a create reads to trust it, with one query. ENOTFOUND when the shop has not
// registered it, in the same words whether or not another shop has an order of
// that id (DESIGN §2 Trust: order ids cannot be probed).
func (db *DB) Order(ctx context.Context, shopID, orderID string) (models.Order, error) {
	var row orderRow
	err := db.gdb.WithContext(ctx).Where("shop_id = ? AND order_id = ?", shopID, orderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Order{}, models.UnknownOrder(shopID, orderID)
	} else if err != nil {
		return models.Order{}, dbError(err, "read order %s of shop %s", orderID, shopID)
	}
	return row.export(), nil
}

// GetOrder returns the order record with its tickets' ids and the refunded total;
// ENOTFOUND as Order.
func (db *DB) GetOrder(ctx context.Context, shopID, orderID string) (models.Order, error) {
	o, err := db.Order(ctx, shopID, orderID)
	if err != nil {
		return o, err
	}
	var tickets []struct {
		ID            string
		RefundedCents int64
	}
	if err := db.gdb.WithContext(ctx).Model(&ticketRow{}).Select("id, refunded_cents").
		Where("shop_id = ? AND order_id = ?", shopID, orderID).Order("created_at, id").Find(&tickets).Error; err != nil {
		return o, dbError(err, "read the tickets of order %s of shop %s", orderID, shopID)
	}
	o.TicketIDs = []string{}
	for _, t := range tickets {
		o.TicketIDs = append(o.TicketIDs, t.ID)
		o.RefundedCents += t.RefundedCents
	}
	return o, nil
}

type buyerRow struct {
	BuyerID   string `gorm:"primaryKey"`
	Credit    int
	Flagged   bool
	Note      string
	UpdatedAt dbTime `gorm:"autoUpdateTime:false"`
}

func (buyerRow) TableName() string { return "buyers" }

// PutBuyer sets the platform's risk record of a buyer.
func (db *DB) PutBuyer(ctx context.Context, b models.Buyer) (models.Buyer, error) {
	row := buyerRow{BuyerID: b.BuyerID, Credit: b.Credit, Flagged: b.Flagged, Note: b.Note, UpdatedAt: dbNow()}
	err := db.gdb.WithContext(ctx).Save(&row).Error
	b.UpdatedAt = row.UpdatedAt.Time
	return b, dbError(err, "save buyer %s", b.BuyerID)
}

// GetBuyer returns a buyer's risk record; a buyer the platform never rated has
// credit 0 and is not flagged (known false).
func (db *DB) GetBuyer(ctx context.Context, id string) (b models.Buyer, known bool, err error) {
	var row buyerRow
	err = db.gdb.WithContext(ctx).Where("buyer_id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Buyer{BuyerID: id}, false, nil
	} else if err != nil {
		return b, false, dbError(err, "read buyer %s", id)
	}
	return models.Buyer{BuyerID: row.BuyerID, Credit: row.Credit, Flagged: row.Flagged, Note: row.Note, UpdatedAt: row.UpdatedAt.Time}, true, nil
}

// RecentReturns counts the after-sales tickets the buyer asked for since since,
// from our own read model (DESIGN §2 Trust: never from the buyer's word, and
// never a ticket a seller opened for the buyer).
func (db *DB) RecentReturns(ctx context.Context, buyerID string, since time.Time) (int, error) {
	var n int64
	// Only the tickets the buyer asked for: the first entry of the timeline is
	// the creation, by whoever created the ticket (DESIGN §2 Trust: a ticket a
	// seller opened does not count against the buyer).
	err := db.gdb.WithContext(ctx).Model(&ticketRow{}).
		Where("buyer_id = ? AND created_at >= ?", buyerID, dbTime{since.UTC()}).
		Where("EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.seq = 1 AND e.role = ?)", string(models.RoleBuyer)).
		Count(&n).Error
	return int(n), dbError(err, "count recent tickets of buyer %s", buyerID)
}

type rmaCounterRow struct {
	ShopID string `gorm:"primaryKey"`
	Last   int64
}

func (rmaCounterRow) TableName() string { return "rma_counters" }

type ticketRMARow struct {
	TicketID string `gorm:"primaryKey"`
	ShopID   string
	Seq      int64
	RMA      string `gorm:"column:rma"`
}

func (ticketRMARow) TableName() string { return "ticket_rmas" }

// AssignRMA gives a ticket the next RMA number of its shop
// (models.RMANumber), once: the ticket's number again if it has one (a
// retried create). The shop's counter row is locked while it counts, so two
// tickets never share a number; a create that fails after it leaves a gap.
func (db *DB) AssignRMA(ctx context.Context, shopID, ticketID string) (string, error) {
	var rma string
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		var had ticketRMARow
		err := tx.Where("ticket_id = ?", ticketID).Take(&had).Error
		if err == nil {
			rma = had.RMA
			return nil
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rmaCounterRow{ShopID: shopID}).Error; err != nil {
			return err
		}
		var c rmaCounterRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("shop_id = ?", shopID).Take(&c).Error; err != nil {
			return err
		}
		c.Last++
		if err := tx.Model(&rmaCounterRow{}).Where("shop_id = ?", shopID).Update("last", c.Last).Error; err != nil {
			return err
		}
		rma = models.RMANumber(shopID, c.Last)
		return tx.Create(&ticketRMARow{TicketID: ticketID, ShopID: shopID, Seq: c.Last, RMA: rma}).Error
	})
	return rma, dbError(err, "give ticket %s an RMA number", ticketID)
}
