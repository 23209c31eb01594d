package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

type idempotencyRow struct {
	Scope     string `gorm:"primaryKey"`
	IdemKey   string `gorm:"primaryKey"`
	BodyHash  string
	TicketID  string
	CreatedAt dbTime `gorm:"autoCreateTime:false"`
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// ClaimIdempotencyKey records (scope, key) → (bodyHash, ticketID) if the key is
// not claimed yet, and returns the stored claim. It is race-safe: of any number
// of concurrent claims of one key, exactly one gets New == true; the database's
// primary key decides, not a read before the write.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, scope, key, bodyHash, ticketID string) (models.IdempotencyClaim, error) {
	switch {
	case scope == "" || len(scope) > 160:
		return models.IdempotencyClaim{}, models.Errorf(models.EINVALID, "idempotency scope must have 1 to 160 characters, not %d", len(scope))
	case key == "" || len(key) > 255:
		return models.IdempotencyClaim{}, models.Errorf(models.EINVALID, "Idempotency-Key must have 1 to 255 characters, not %d", len(key))
	case ticketID == "":
		return models.IdempotencyClaim{}, models.Errorf(models.EINVALID, "idempotency claim of key %q names no ticket id", key)
	}
	row := idempotencyRow{Scope: scope, IdemKey: key, BodyHash: bodyHash, TicketID: ticketID, CreatedAt: dbNow()}
	var claim models.IdempotencyClaim
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			claim = models.IdempotencyClaim{TicketID: ticketID, BodyHash: bodyHash, New: true}
			return nil
		}
		var stored idempotencyRow
		if err := tx.Where("scope = ? AND idem_key = ?", scope, key).Take(&stored).Error; err != nil {
			return err
		}
		claim = models.IdempotencyClaim{TicketID: stored.TicketID, BodyHash: stored.BodyHash}
		return nil
	})
	return claim, dbError(err, "claim idempotency key %q", key)
}

// ReleaseIdempotencyKey deletes the claim of (scope, key) if it still names
// ticketID: a create that claimed it and was then refused started nothing, so
// the key is free for a corrected request. A claim of another ticket stays.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key, ticketID string) error {
	err := db.gdb.WithContext(ctx).Where("scope = ? AND idem_key = ? AND ticket_id = ?", scope, key, ticketID).Delete(&idempotencyRow{}).Error
	return dbError(err, "release idempotency key %q", key)
}
