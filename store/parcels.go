package store

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

// parcelRow routes a carrier's events about a parcel the carrier never booked
// for us (a self-shipped return) to the workflow that subscribed its tracking
// number.
type parcelRow struct {
	Carrier    string `gorm:"primaryKey"`
	TrackingNo string `gorm:"primaryKey"`
	WorkflowID string
	CreatedAt  dbTime `gorm:"autoCreateTime:false"`
}

func (parcelRow) TableName() string { return "parcel_subscriptions" }

// parcelKey is how a parcel is named: the carrier's code in upper case (buyers
// type "sf" and "SF" alike) and the tracking number as given.
func parcelKey(carrier, trackingNo string) (string, string) {
	return strings.ToUpper(strings.TrimSpace(carrier)), strings.TrimSpace(trackingNo)
}

// SubscribeParcel records that the carrier's events about trackingNo go to the
// workflow workflowID. A parcel subscribed again by another workflow (a tracking
// number reused by a later return) goes to the newest.
func (db *DB) SubscribeParcel(ctx context.Context, carrier, trackingNo, workflowID string) error {
	c, n := parcelKey(carrier, trackingNo)
	if c == "" || n == "" || len(c) > 64 || len(n) > 128 {
		return models.Errorf(models.EINVALID, "a parcel needs a carrier (at most 64 characters) and a tracking number (at most 128)")
	}
	row := parcelRow{Carrier: c, TrackingNo: n, WorkflowID: workflowID, CreatedAt: dbNow()}
	err := db.gdb.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "carrier"}, {Name: "tracking_no"}},
		DoUpdates: clause.AssignmentColumns([]string{"workflow_id", "created_at"}),
	}).Create(&row).Error
	return dbError(err, "subscribe parcel %s %s", c, n)
}

// ParcelWorkflow returns the workflow that subscribed the parcel; ENOTFOUND
// when none did.
func (db *DB) ParcelWorkflow(ctx context.Context, carrier, trackingNo string) (string, error) {
	c, n := parcelKey(carrier, trackingNo)
	var row parcelRow
	err := db.gdb.WithContext(ctx).Where("carrier = ? AND tracking_no = ?", c, n).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", models.Errorf(models.ENOTFOUND, "no ticket follows parcel %s %s", c, n)
	} else if err != nil {
		return "", dbError(err, "parcel %s %s", c, n)
	}
	return row.WorkflowID, nil
}
