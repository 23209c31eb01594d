package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type webhookEventRow struct {
	Provider   string `gorm:"primaryKey"`
	EventID    string `gorm:"primaryKey"`
	BodyHash   string
	Delivered  bool
	ReceivedAt dbTime `gorm:"autoCreateTime:false"`
}

func (webhookEventRow) TableName() string { return "webhook_events" }

// WebhookEvent is what the database knows of a provider's event id.
type WebhookEvent struct {
	// Delivered: the event reached its ticket before; a repeat is answered and dropped.
	Delivered bool
	// SameBody: the stored event had this body. A provider that sends another body
	// under an event id it used is refused rather than believed twice.
	SameBody bool
}

// ReceiveWebhookEvent records (provider, eventID) the first time it is seen and
// returns what is known of it. An event recorded but not yet delivered (its signal
// failed) reads Delivered false, so the provider's retry goes through.
func (db *DB) ReceiveWebhookEvent(ctx context.Context, provider, eventID, bodyHash string) (WebhookEvent, error) {
	row := webhookEventRow{Provider: provider, EventID: eventID, BodyHash: bodyHash, ReceivedAt: dbNow()}
	var got WebhookEvent
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			got = WebhookEvent{SameBody: true}
			return nil
		}
		var stored webhookEventRow
		if err := tx.Where("provider = ? AND event_id = ?", provider, eventID).Take(&stored).Error; err != nil {
			return err
		}
		got = WebhookEvent{Delivered: stored.Delivered, SameBody: stored.BodyHash == bodyHash}
		return nil
	})
	return got, dbError(err, "record webhook event %q", eventID)
}

// MarkWebhookDelivered records that the event reached its ticket.
func (db *DB) MarkWebhookDelivered(ctx context.Context, provider, eventID string) error {
	err := db.gdb.WithContext(ctx).Model(&webhookEventRow{}).
		Where("provider = ? AND event_id = ?", provider, eventID).Update("delivered", true).Error
	return dbError(err, "mark webhook event %q delivered", eventID)
}
