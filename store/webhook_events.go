package store

import (
	"context"
	"time"

	"github.com/aftersales/aftersales/models"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type webhookEventRow struct {
	Provider   string `gorm:"primaryKey"`
	EventID    string `gorm:"primaryKey"`
	BodyHash   string
	Delivered  bool
	ReceivedAt dbTime `gorm:"autoCreateTime:false"`
	Body       *string
}

func (webhookEventRow) TableName() string { return "webhook_events" }

// ReceiveWebhookEvent records (provider, eventID) with its verified body the
// first time it is seen and returns what is known of it. An event recorded but
// not yet delivered (its signal failed, or the API stopped first) reads
// Delivered false, so the provider's retry goes through, and the relay delivers
// it from the body it keeps (PendingWebhookEvents).
func (db *DB) ReceiveWebhookEvent(ctx context.Context, provider, eventID, bodyHash string, body []byte) (models.WebhookEvent, error) {
	text := string(body)
	row := webhookEventRow{Provider: provider, EventID: eventID, BodyHash: bodyHash, ReceivedAt: dbNow(), Body: &text}
	var got models.WebhookEvent
	err := db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			got = models.WebhookEvent{SameBody: true}
			return nil
		}
		var stored webhookEventRow
		if err := tx.Where("provider = ? AND event_id = ?", provider, eventID).Take(&stored).Error; err != nil {
			return err
		}
		got = models.WebhookEvent{Delivered: stored.Delivered, SameBody: stored.BodyHash == bodyHash}
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

// PendingWebhookEvents returns up to limit events received before before and not
// delivered, oldest first: the relay's work. Events received before bodies were
// kept (schema 6) cannot be delivered again and are left out.
func (db *DB) PendingWebhookEvents(ctx context.Context, before time.Time, limit int) ([]models.PendingWebhookEvent, error) {
	var rows []webhookEventRow
	err := db.gdb.WithContext(ctx).Where("delivered = ? AND received_at < ? AND body IS NOT NULL", false, ts(before)).
		Order("received_at, provider, event_id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list undelivered webhook events")
	}
	out := make([]models.PendingWebhookEvent, 0, len(rows))
	for _, r := range rows {
		out = append(out, models.PendingWebhookEvent{Provider: r.Provider, EventID: r.EventID, Body: []byte(*r.Body), ReceivedAt: r.ReceivedAt.Time})
	}
	return out, nil
}
