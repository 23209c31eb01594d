package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

type lineHoldRow struct {
	TicketID  string `gorm:"primaryKey"`
	SKU       string `gorm:"primaryKey;column:sku"`
	ShopID    string
	OrderID   string
	Qty       int
	CreatedAt dbTime `gorm:"autoCreateTime:false"`
}

func (lineHoldRow) TableName() string { return "line_holds" }

// PendingHoldLife is how long the units of a ticket whose creation has not
// reached the read model stay held: a create that died between its hold and
// its start gives them back after it. Well above any create's own time.
const PendingHoldLife = time.Hour

// HoldUnits records the units of the order's lines the ticket returns, if the
// order has them to give (models.CheckUnits): under the order record's lock,
// so of two tickets racing for the last unit one is refused (ECONFLICT naming
// the ticket that holds it). The other tickets' holds count while the ticket
// holds them (models.Ticket.HoldsUnits), or, for one not in the read model
// yet, for PendingHoldLife. Holding again for a ticket that holds already
// changes nothing, so a retried create is not refused by itself.
func (db *DB) HoldUnits(ctx context.Context, shopID, orderID, ticketID string, lines []models.Item, now time.Time) error {
	lines = unitsBySKU(lines)
	if len(lines) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		var locked orderRow
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("shop_id = ? AND order_id = ?", shopID, orderID).Take(&locked).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.UnknownOrder(shopID, orderID)
		} else if err != nil {
			return err
		}
		held, again, err := heldUnits(tx, shopID, orderID, ticketID, now)
		if err != nil || again {
			return err // held already: a retry of this create
		}
		if err := models.CheckUnits(lines, locked.export().Items, held); err != nil {
			return err
		}
		stamp := dbTime{now.UTC()}
		for _, l := range lines {
			row := lineHoldRow{TicketID: ticketID, SKU: l.SKU, ShopID: shopID, OrderID: orderID, Qty: l.Qty, CreatedAt: stamp}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return dbError(err, "hold the units of ticket %s", ticketID)
}

// heldUnits is what the other tickets of an order hold of each line, and
// whether ticket self holds some already. A ticket in the read model holds
// while models.Ticket.HoldsUnits says so: the units of its holds, or, for a
// ticket from before holds were kept, the lines it names. A hold whose ticket
// is not in the read model yet counts for PendingHoldLife.
func heldUnits(tx *gorm.DB, shopID, orderID, self string, now time.Time) (map[string]models.UnitsHeld, bool, error) {
	var holds []lineHoldRow
	if err := tx.Where("shop_id = ? AND order_id = ?", shopID, orderID).Order("created_at, ticket_id, sku").Find(&holds).Error; err != nil {
		return nil, false, err
	}
	var tickets []ticketRow
	if err := tx.Where("shop_id = ? AND order_id = ?", shopID, orderID).Order("created_at, id").Find(&tickets).Error; err != nil {
		return nil, false, err
	}
	byTicket := map[string][]models.Item{}
	pending := map[string]bool{}
	for _, h := range holds {
		if h.TicketID == self {
			return nil, true, nil
		}
		byTicket[h.TicketID] = append(byTicket[h.TicketID], models.Item{SKU: h.SKU, Qty: h.Qty})
		pending[h.TicketID] = now.Sub(h.CreatedAt.Time) < PendingHoldLife
	}
	held := map[string]models.UnitsHeld{}
	count := func(id string, lines []models.Item) {
		for _, l := range lines {
			u := held[l.SKU]
			u.Units += l.Qty
			if u.Ticket == "" {
				u.Ticket = id
			}
			held[l.SKU] = u
		}
	}
	for _, r := range tickets {
		if r.ID == self {
			continue
		}
		var t models.Ticket
		if err := json.Unmarshal([]byte(r.View), &t); err != nil {
			return nil, false, err
		}
		lines, kept := byTicket[r.ID]
		delete(pending, r.ID)
		if !kept {
			lines = unitsBySKU(t.Items)
		}
		if t.HoldsUnits() {
			count(r.ID, t.KeptUnits(lines))
		}
	}
	for _, h := range holds { // in hold order, so the first holder is named
		if live, ok := pending[h.TicketID]; ok && live {
			count(h.TicketID, []models.Item{{SKU: h.SKU, Qty: h.Qty}})
		}
	}
	return held, false, nil
}

// ReleaseUnits deletes the holds of a ticket that was never started (its
// create failed): its units go back to the order at once.
func (db *DB) ReleaseUnits(ctx context.Context, ticketID string) error {
	err := db.gdb.WithContext(ctx).Where("ticket_id = ?", ticketID).Delete(&lineHoldRow{}).Error
	return dbError(err, "release the units of ticket %s", ticketID)
}

// unitsBySKU adds up lines that name one sku twice.
func unitsBySKU(lines []models.Item) []models.Item {
	var out []models.Item
	at := map[string]int{}
	for _, l := range lines {
		if i, ok := at[l.SKU]; ok {
			out[i].Qty += l.Qty
			continue
		}
		at[l.SKU] = len(out)
		out = append(out, l)
	}
	return out
}
