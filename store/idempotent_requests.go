package store

import (
	"context"
	"time"

	"github.com/aftersales/aftersales/models"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type idempotentRequestRow struct {
	Principal   string `gorm:"primaryKey"`
	IdemKey     string `gorm:"primaryKey"`
	RequestHash string
	TicketID    string
	Status      int
	ContentType string
	Response    string
	CreatedAt   dbTime `gorm:"autoCreateTime:false"`
	UpdatedAt   dbTime `gorm:"autoUpdateTime:false"`
}

func (idempotentRequestRow) TableName() string { return "idempotent_requests" }

// ClaimIdempotentRequest claims (principal, key) for a request, or returns the
// stored claim. Of any number of concurrent claims of one key exactly one gets
// New (the primary key decides). A claim still running after stale (its request
// died with its process) is taken over: the caller gets New with the first
// claim's TicketID, and runs the request again, which the ticket's own update ids
// make safe.
func (db *DB) ClaimIdempotentRequest(ctx context.Context, principal, key, requestHash, ticketID string, stale time.Duration) (models.IdempotentRequest, error) {
	now := dbNow()
	row := idempotentRequestRow{Principal: principal, IdemKey: key, RequestHash: requestHash, TicketID: ticketID, CreatedAt: now, UpdatedAt: now}
	var got models.IdempotentRequest
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			got = models.IdempotentRequest{New: true, RequestHash: requestHash, TicketID: ticketID, Since: now.Time}
			return nil
		}
		var stored idempotentRequestRow
		if err := tx.Where("principal = ? AND idem_key = ?", principal, key).Take(&stored).Error; err != nil {
			return err
		}
		got = models.IdempotentRequest{RequestHash: stored.RequestHash, TicketID: stored.TicketID, Status: stored.Status,
			ContentType: stored.ContentType, Response: []byte(stored.Response), Since: stored.UpdatedAt.Time}
		if stored.Status == 0 && stored.RequestHash == requestHash && now.Sub(stored.UpdatedAt.Time) > stale {
			// Take over only if nobody else did since we read it.
			res := tx.Model(&idempotentRequestRow{}).
				Where("principal = ? AND idem_key = ? AND status = 0 AND updated_at = ?", principal, key, stored.UpdatedAt).
				Update("updated_at", now)
			if res.Error != nil {
				return res.Error
			}
			got.New, got.Since = res.RowsAffected == 1, now.Time
		}
		return nil
	})
	return got, dbError(err, "claim Idempotency-Key %q", key)
}

// FinishIdempotentRequest stores the first answer under the key, to be replayed.
func (db *DB) FinishIdempotentRequest(ctx context.Context, principal, key string, status int, contentType string, body []byte) error {
	err := db.gdb.WithContext(ctx).Model(&idempotentRequestRow{}).
		Where("principal = ? AND idem_key = ?", principal, key).
		Updates(map[string]any{"status": status, "content_type": contentType, "response": string(body), "updated_at": dbNow()}).Error
	return dbError(err, "store the answer for Idempotency-Key %q", key)
}

// ReleaseIdempotentRequest forgets a claim whose request was refused before it
// did anything (its body or its caller), so that a corrected request may use the
// key.
func (db *DB) ReleaseIdempotentRequest(ctx context.Context, principal, key string) error {
	err := db.gdb.WithContext(ctx).Where("principal = ? AND idem_key = ? AND status = 0", principal, key).
		Delete(&idempotentRequestRow{}).Error
	return dbError(err, "release Idempotency-Key %q", key)
}

// UnfinishIdempotentRequest leaves a claim whose request ended without an answer
// (the service was down, the client hung up) open to the next retry at once: the
// same request under the key takes it over with the ticket id first reserved,
// so a create that may have started its workflow never starts a second one.
func (db *DB) UnfinishIdempotentRequest(ctx context.Context, principal, key string) error {
	err := db.gdb.WithContext(ctx).Model(&idempotentRequestRow{}).
		Where("principal = ? AND idem_key = ? AND status = 0", principal, key).
		Update("updated_at", dbTime{time.Unix(0, 0).UTC()}).Error
	return dbError(err, "reopen Idempotency-Key %q", key)
}

// PurgeIdempotentRequests deletes answers older than before: DESIGN §4 keeps
// them at least 7 days.
func (db *DB) PurgeIdempotentRequests(ctx context.Context, before time.Time) (int64, error) {
	res := db.gdb.WithContext(ctx).Where("created_at < ? AND status <> 0", dbTime{before.UTC()}).Delete(&idempotentRequestRow{})
	return res.RowsAffected, dbError(res.Error, "purge idempotent requests")
}
