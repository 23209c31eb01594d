package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

// The refunds ledger spells purposes as models.Purpose does. Refunds and
// repayments (models.TakesOrderRoom) count against the order's refund cap, and
// charge backs give room back; compensation and freight insurance claims are
// other money flows.

type refundRow struct {
	RefundKey   string `gorm:"primaryKey"`
	TicketID    string
	ShopID      string
	OrderID     string
	AmountCents int64
	Currency    string
	Purpose     string
	Status      models.MoneyStatus
	ProviderRef string
	Attempts    int
	// OrderOverCents: how far this key's late success took its order's refunds
	// over what was paid (set once, by the change that did it).
	OrderOverCents int64
	// LineCents is the order lines the movement is for, JSON of
	// []models.LineCents ("" for none).
	LineCents string
	CreatedAt dbTime `gorm:"autoCreateTime:false"`
	UpdatedAt dbTime `gorm:"autoUpdateTime:false"`
}

func (refundRow) TableName() string { return "refunds" }

func (r refundRow) entry() models.LedgerEntry {
	return models.LedgerEntry{TicketID: r.TicketID, Purpose: models.Purpose(r.Purpose), Status: r.Status, AmountCents: r.AmountCents}
}

func (r refundRow) export() models.RefundRow {
	return models.RefundRow{
		Key: r.RefundKey, TicketID: r.TicketID, ShopID: r.ShopID, OrderID: r.OrderID, AmountCents: r.AmountCents,
		Currency: r.Currency, Purpose: models.Purpose(r.Purpose), Status: r.Status, ProviderRef: r.ProviderRef,
		Attempts: r.Attempts, OrderOverCents: r.OrderOverCents, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
		Lines: decodeLineCents(r.LineCents),
	}
}

// encodeLineCents and decodeLineCents keep a movement's lines in its row.
func encodeLineCents(lines []models.LineCents) string {
	if len(lines) == 0 {
		return ""
	}
	b, _ := json.Marshal(lines)
	return string(b)
}

func decodeLineCents(s string) []models.LineCents {
	var lines []models.LineCents
	if s != "" {
		_ = json.Unmarshal([]byte(s), &lines) // written by encodeLineCents only
	}
	return lines
}

type orderTotalRow struct {
	ShopID        string `gorm:"primaryKey"`
	OrderID       string `gorm:"primaryKey"`
	PaidCents     int64
	ReservedCents int64
}

func (orderTotalRow) TableName() string { return "order_refund_totals" }

// RefundReservation asks for a refund ledger entry. Key is the refund's
// idempotency key (DESIGN §5: "<ticket id>:refund:<n>"), the same one the payment
// provider receives. PaidCents is what the buyer paid for the order: it sets the
// order's cap the first time the order is seen and is ignored afterwards. The
// order is (ShopID, OrderID); a reservation without ShopID (asked for before
// orders were keyed by shop) takes the shop of its ticket.
type RefundReservation struct {
	Key         string
	TicketID    string
	ShopID      string
	OrderID     string
	AmountCents int64
	Currency    string
	Purpose     models.Purpose
	PaidCents   int64
	// Lines is the order lines the movement is for (models.LineCents), kept
	// with the entry so an order's refunds are known per line.
	Lines []models.LineCents
}

var errKeyTaken = errors.New("refund key taken concurrently")

// ReserveRefund writes a refund entry with status pending before any money moves.
//
// If Key is already in the ledger, the stored entry is returned unchanged and
// nothing is reserved again, whatever the other fields say: a retried activity
// gets back the reservation it made. Otherwise, for PurposeRefund, the order's
// totals row is locked (created with PaidCents on first use) and the reservation
// is refused with ECONFLICT when the order's reserved refunds plus AmountCents
// would exceed what was paid; concurrent reservations on one order are
// serialised by that lock (SELECT ... FOR UPDATE on MySQL, the single writer on
// SQLite), so the sum never exceeds the cap. A repayment reserves the same way
// (models.TakesOrderRoom); other purposes are not capped.
func (db *DB) ReserveRefund(ctx context.Context, r RefundReservation) (models.RefundRow, error) {
	if err := validateReservation(r); err != nil {
		return models.RefundRow{}, err
	}
	if r.ShopID == "" {
		shop, err := db.reservationShop(ctx, r)
		if err != nil {
			return models.RefundRow{}, err
		}
		r.ShopID = shop
	}
	stamp := dbNow()
	row := refundRow{
		RefundKey: r.Key, TicketID: r.TicketID, ShopID: r.ShopID, OrderID: r.OrderID, AmountCents: r.AmountCents,
		Currency: r.Currency, Purpose: string(r.Purpose), Status: models.RefundPending, CreatedAt: stamp, UpdatedAt: stamp,
		LineCents: encodeLineCents(r.Lines),
	}
	var out refundRow
	var reserved bool
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		reserved = false // a retried transaction starts afresh
		if !models.TakesOrderRoom(r.Purpose) {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				out, reserved = row, true
				return nil
			}
			return tx.Where("refund_key = ?", r.Key).Take(&out).Error
		}

		// Lock the order first: every reservation of the order waits here, so
		// the checks below read a ledger nobody else is changing.
		if r.PaidCents > 0 {
			seed := orderTotalRow{ShopID: r.ShopID, OrderID: r.OrderID, PaidCents: r.PaidCents}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
				return err
			}
		}
		var total orderTotalRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("shop_id = ? AND order_id = ?", r.ShopID, r.OrderID).Take(&total).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.EINVALID,
				"order %s has no refund ledger yet: give paid_cents (what the buyer paid) with its first refund", r.OrderID)
		} else if err != nil {
			return err
		}

		err = tx.Where("refund_key = ?", r.Key).Take(&out).Error
		if err == nil {
			return nil // idempotent repeat
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if total.ReservedCents+r.AmountCents > total.PaidCents {
			return models.Errorf(models.ECONFLICT,
				"refunds of order %s would total %d cents, more than the %d cents paid (%d cents already refunded or in progress)",
				r.OrderID, total.ReservedCents+r.AmountCents, total.PaidCents, total.ReservedCents)
		}
		if err := tx.Create(&row).Error; err != nil {
			if isDuplicate(err) {
				return errKeyTaken
			}
			return err
		}
		out, reserved = row, true
		return tx.Model(&orderTotalRow{}).Where("shop_id = ? AND order_id = ?", r.ShopID, r.OrderID).
			Update("reserved_cents", gorm.Expr("reserved_cents + ?", r.AmountCents)).Error
	})
	if errors.Is(err, errKeyTaken) {
		// The same key was reserved for another order meanwhile: that entry stands.
		return db.GetRefund(ctx, r.Key)
	}
	if err != nil {
		return models.RefundRow{}, dbError(err, "reserve refund %s", r.Key)
	}
	res := out.export()
	res.Reserved = reserved
	return res, nil
}

func validateReservation(r RefundReservation) error {
	switch {
	case strings.TrimSpace(r.Key) == "" || len(r.Key) > models.MaxMoneyKeyChars:
		return models.Errorf(models.EINVALID, "refund key must have 1 to %d characters, not %d", models.MaxMoneyKeyChars, len(r.Key))
	case strings.TrimSpace(r.OrderID) == "":
		return models.Errorf(models.EINVALID, "refund %s names no order id", r.Key)
	case r.AmountCents <= 0:
		return models.Errorf(models.EINVALID, "refund %s amount must be more than 0 cents, not %d", r.Key, r.AmountCents)
	case r.Purpose == "" || len(r.Purpose) > 32:
		return models.Errorf(models.EINVALID, "refund %s needs a purpose such as %q or %q", r.Key, models.PurposeRefund, models.PurposeCompensate)
	case r.PaidCents < 0:
		return models.Errorf(models.EINVALID, "paid_cents of order %s is negative (%d)", r.OrderID, r.PaidCents)
	}
	return nil
}

// MarkRefund moves refund key to status (sent, failed, void, succeeded or
// reversed) by the one status rule of money movements, models.NextMoneyStatus: a
// status only rises, pending → sent → failed → void → succeeded → reversed (from
// succeeded only), so a late success after a failure is
// recorded, and a move backwards or sideways (a late "sent" after "succeeded", a
// "failed" after "succeeded") changes nothing and returns the stored entry. Each
// "sent" while pending or sent counts one provider attempt. A move to void (the
// provider confirmed the key did not and will not pay) releases the amount from
// the order's cap; failed does not, since a failed key may still pay until it is
// confirmed void. A later success takes it again, even above the cap, because
// the money did move; a charge back that succeeds gives back what the buyer
// returned (models.OrderCapDelta is the rule).
// providerRef, when given, is recorded with any change. ENOTFOUND for an unknown key.
func (db *DB) MarkRefund(ctx context.Context, key string, status models.MoneyStatus, providerRef string) (models.RefundRow, error) {
	if !models.KnownMoneyStatus(status) || status == models.RefundPending {
		return models.RefundRow{}, models.Errorf(models.EINVALID,
			"refund status %q is not one a refund can move to: use sent, failed, void, succeeded or reversed", status)
	}
	var out refundRow
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		var cur refundRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("refund_key = ?", key).Take(&cur).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.ENOTFOUND, "refund %s not found", key)
		} else if err != nil {
			return err
		}
		out = cur
		updates := map[string]any{}
		next, changed := models.NextMoneyStatus(cur.Status, status)
		switch {
		case status == models.RefundSent && (cur.Status == models.RefundPending || cur.Status == models.RefundSent):
			updates["status"] = models.RefundSent
			updates["attempts"] = cur.Attempts + 1
		case changed:
			updates["status"] = next
		}
		if len(updates) == 0 {
			return nil
		}
		if providerRef != "" {
			updates["provider_ref"] = providerRef
		}
		updates["updated_at"] = dbNow()
		if err := tx.Model(&refundRow{}).Where("refund_key = ?", key).Updates(updates).Error; err != nil {
			return err
		}
		if cur.Status != next {
			if delta := models.OrderCapDelta(models.Purpose(cur.Purpose), cur.Status, next, cur.AmountCents); delta != 0 {
				if err := tx.Model(&orderTotalRow{}).Where("shop_id = ? AND order_id = ?", cur.ShopID, cur.OrderID).
					Update("reserved_cents", gorm.Expr("reserved_cents + ?", delta)).Error; err != nil {
					return err
				}
			}
			if next == models.RefundSucceeded {
				if err := markOrderOver(tx, cur); err != nil {
					return err
				}
			}
		}
		return tx.Where("refund_key = ?", key).Take(&out).Error
	})
	if err != nil {
		return models.RefundRow{}, dbError(err, "mark refund %s %s", key, status)
	}
	return out.export(), nil
}

// markOrderOver records on key cur, just succeeded, how far it took its
// order's net refunds over what was paid (models.OrderOverBy, measured on the
// order's entries as they stand now). The order's row is locked first, so two
// keys of one order succeeding at once are measured one after the other and
// each records its own part of the excess.
func markOrderOver(tx *gorm.DB, cur refundRow) error {
	if !models.TakesOrderRoom(models.Purpose(cur.Purpose)) {
		return nil
	}
	var total orderTotalRow
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("shop_id = ? AND order_id = ?", cur.ShopID, cur.OrderID).Take(&total).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // reserved before the order had a ledger row: nothing to measure against
	} else if err != nil {
		return err
	}
	var rows []refundRow
	if err := tx.Select("ticket_id", "purpose", "status", "amount_cents").Where("shop_id = ? AND order_id = ?", cur.ShopID, cur.OrderID).Find(&rows).Error; err != nil {
		return err
	}
	entries := make([]models.LedgerEntry, len(rows))
	for i, r := range rows {
		entries[i] = r.entry()
	}
	over := models.OrderOverBy(cur.entry(), entries, total.PaidCents)
	if over <= 0 {
		return nil
	}
	return tx.Model(&refundRow{}).Where("refund_key = ?", cur.RefundKey).Update("order_over_cents", over).Error
}

// GetRefund returns the ledger entry of key; ENOTFOUND when there is none.
func (db *DB) GetRefund(ctx context.Context, key string) (models.RefundRow, error) {
	var row refundRow
	err := db.gdb.WithContext(ctx).Where("refund_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.RefundRow{}, models.Errorf(models.ENOTFOUND, "refund %s not found", key)
	} else if err != nil {
		return models.RefundRow{}, dbError(err, "get refund %s", key)
	}
	return row.export(), nil
}

// ListRefunds returns the ledger entries of a ticket, oldest first; none is not
// an error.
func (db *DB) ListRefunds(ctx context.Context, ticketID string) ([]models.RefundRow, error) {
	var rows []refundRow
	if err := db.gdb.WithContext(ctx).Where("ticket_id = ?", ticketID).
		Order("created_at, refund_key").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list refunds of ticket %s", ticketID)
	}
	out := make([]models.RefundRow, len(rows))
	for i, r := range rows {
		out[i] = r.export()
	}
	return out, nil
}

// OrderRefundTotal returns what the order's refunds reserve (pending, sent or
// succeeded, purpose refund) and what was paid. ENOTFOUND when no refund of the
// order was ever reserved, since the paid amount is then unknown here.
func (db *DB) OrderRefundTotal(ctx context.Context, shopID, orderID string) (reserved, paid int64, err error) {
	var row orderTotalRow
	err = db.gdb.WithContext(ctx).Where("shop_id = ? AND order_id = ?", shopID, orderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, 0, models.Errorf(models.ENOTFOUND, "order %s has no refund recorded", orderID)
	} else if err != nil {
		return 0, 0, dbError(err, "refund total of order %s", orderID)
	}
	return row.ReservedCents, row.PaidCents, nil
}

// reservationShop is the shop of a ledger reservation asked for before orders
// were keyed by shop (a workflow's activity retried after the upgrade): its
// ticket's shop, or, for a shipping watch's compensation, the shop of the order
// record of that id. EINVALID when neither is recorded.
func (db *DB) reservationShop(ctx context.Context, r RefundReservation) (string, error) {
	var shops []string
	err := db.gdb.WithContext(ctx).Model(&ticketRow{}).Where("id = ?", r.TicketID).Pluck("shop_id", &shops).Error
	if err == nil && len(shops) == 0 {
		err = db.gdb.WithContext(ctx).Model(&orderRow{}).Where("order_id = ?", r.OrderID).Order("shop_id").Limit(1).Pluck("shop_id", &shops).Error
	}
	if err != nil {
		return "", dbError(err, "read the shop of refund %s", r.Key)
	}
	if len(shops) == 0 || shops[0] == "" {
		return "", models.Errorf(models.EINVALID, "refund %s names no shop_id, and neither its ticket %s nor its order %s is recorded", r.Key, r.TicketID, r.OrderID)
	}
	return shops[0], nil
}

// OrderLineRefunds is what the ledger's movements that succeeded refunded of
// each line of the order (refunds and repayments less charges back, by the
// lines each carried), keyed by SKU. Entries without lines count for none.
func (db *DB) OrderLineRefunds(ctx context.Context, shopID, orderID string) (map[string]int64, error) {
	var rows []refundRow
	err := db.gdb.WithContext(ctx).Select("purpose", "line_cents").
		Where("shop_id = ? AND order_id = ? AND status = ?", shopID, orderID, models.RefundSucceeded).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "line refunds of order %s", orderID)
	}
	out := map[string]int64{}
	for _, r := range rows {
		for _, l := range decodeLineCents(r.LineCents) {
			out[l.SKU] += models.Purpose(r.Purpose).LineSign() * l.Cents
		}
	}
	return out, nil
}
