package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aftersales/aftersales/models"
)

// ticketRow is a row of tickets: the columns lists and reports filter on, plus
// the whole ticket (without its timeline) as JSON in view.
type ticketRow struct {
	ID                     string `gorm:"primaryKey"`
	OrderID                string
	ShopID                 string
	BuyerID                string
	Kind                   string
	State                  string
	Outcome                string
	ReturnMethod           string
	ReasonCode             string
	RequestedCents         int64
	RefundedCents          int64
	Currency               string
	DeadlineName           string
	DeadlineAt             nullTime
	Escalated              bool
	ExcludedFromAssessment bool
	FastReviewed           bool
	LightningRefund        bool
	SellerBreach           bool
	ReplyLate              bool
	AutoActed              bool
	PolicyVersion          string
	FirstReplyAt           nullTime
	EvaluationScore        *int
	Seq                    int64
	CreatedAt              dbTime `gorm:"autoCreateTime:false"`
	UpdatedAt              dbTime `gorm:"autoUpdateTime:false"`
	EndedAt                nullTime
	View                   string

	// Derived columns the queries filter on (schema 12): IsOpen is whether state
	// is neither completed nor closed; SLADurationUS and SLABucket are set by
	// slaDuration.
	IsOpen        bool
	SLADurationUS *int64 `gorm:"column:sla_duration_us"`
	SLABucket     *int   `gorm:"column:sla_bucket"`
	RMA           string `gorm:"column:rma"` // schema 13
}

func (ticketRow) TableName() string { return "tickets" }

// eventRow is a row of ticket_events, the audit trail.
type eventRow struct {
	TicketID  string `gorm:"primaryKey"`
	Seq       int64  `gorm:"primaryKey;autoIncrement:false"`
	At        dbTime
	Actor     string
	Role      string
	Action    string
	FromState string
	ToState   string
	Note      string
	RequestID string
}

func (eventRow) TableName() string { return "ticket_events" }

func rowOf(t models.Ticket) (ticketRow, error) {
	view := t
	view.Timeline = nil
	b, err := json.Marshal(view)
	if err != nil {
		return ticketRow{}, models.Errorf(models.EINVALID, "ticket %s cannot be encoded: %v", t.ID, err)
	}
	r := ticketRow{
		ID: t.ID, RMA: t.RMA, OrderID: t.OrderID, ShopID: t.ShopID, BuyerID: t.BuyerID,
		Kind: string(t.Kind), State: string(t.State), Outcome: string(t.Outcome),
		ReturnMethod: string(t.ReturnMethod), ReasonCode: string(t.ReasonCode),
		RequestedCents: t.RequestedCents, RefundedCents: t.RefundedCents, Currency: t.Currency,
		Escalated:              t.Flags.Escalated,
		ExcludedFromAssessment: t.Flags.ExcludedFromAssessment,
		FastReviewed:           t.Flags.FastReviewed,
		LightningRefund:        t.Flags.LightningRefund,
		SellerBreach:           t.Flags.SellerBreach,
		ReplyLate:              t.Flags.ReplyLate,
		AutoActed:              t.Flags.AutoActed,
		PolicyVersion:          t.PolicyVersion,
		FirstReplyAt:           nullTimeOf(t.FirstReplyAt),
		Seq:                    t.Seq,
		CreatedAt:              ts(t.CreatedAt),
		UpdatedAt:              ts(t.UpdatedAt),
		EndedAt:                nullTimeOf(t.EndedAt),
		View:                   string(b),
	}
	if t.Deadline != nil {
		r.DeadlineName = t.Deadline.Name
		r.DeadlineAt = nullTimeOf(&t.Deadline.At)
	}
	if t.Evaluation != nil {
		score := t.Evaluation.Score
		r.EvaluationScore = &score
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	r.IsOpen = !t.State.Terminal()
	r.slaDuration()
	return r, nil
}

// slaRowColumns are the columns of a ticket row that slaCountsOf and
// slaDelta read.
const slaRowColumns = "id, shop_id, state, escalated, excluded_from_assessment, fast_reviewed, lightning_refund, " +
	"reply_late, auto_acted, first_reply_at, evaluation_score, seq, created_at, sla_duration_us, sla_bucket"

// columns returns every column but the key, for the conditional update.
func (r ticketRow) columns() map[string]any {
	return map[string]any{
		"order_id": r.OrderID, "shop_id": r.ShopID, "buyer_id": r.BuyerID,
		"kind": r.Kind, "state": r.State, "outcome": r.Outcome,
		"return_method": r.ReturnMethod, "reason_code": r.ReasonCode,
		"requested_cents": r.RequestedCents, "refunded_cents": r.RefundedCents, "currency": r.Currency,
		"deadline_name": r.DeadlineName, "deadline_at": r.DeadlineAt,
		"escalated": r.Escalated, "excluded_from_assessment": r.ExcludedFromAssessment,
		"fast_reviewed": r.FastReviewed, "lightning_refund": r.LightningRefund,
		"seller_breach": r.SellerBreach, "reply_late": r.ReplyLate, "auto_acted": r.AutoActed,
		"policy_version": r.PolicyVersion, "first_reply_at": r.FirstReplyAt,
		"evaluation_score": r.EvaluationScore, "seq": r.Seq,
		"created_at": r.CreatedAt, "updated_at": r.UpdatedAt, "ended_at": r.EndedAt,
		"view": r.View, "is_open": r.IsOpen, "sla_duration_us": r.SLADurationUS, "sla_bucket": r.SLABucket, "rma": r.RMA,
	}
}

func (r ticketRow) ticket() (models.Ticket, error) {
	var t models.Ticket
	if err := json.Unmarshal([]byte(r.View), &t); err != nil {
		return models.Ticket{}, dbError(err, "ticket %s: decode the stored view", r.ID)
	}
	return t, nil
}

// eventRowsOf returns the audit rows of t's timeline.
func eventRowsOf(t models.Ticket) []eventRow {
	events := make([]eventRow, 0, len(t.Timeline))
	for _, e := range t.Timeline {
		events = append(events, eventRow{
			TicketID: t.ID, Seq: e.Seq, At: ts(e.At), Actor: e.Actor, Role: string(e.Role),
			Action: e.Action, FromState: string(e.From), ToState: string(e.To), Note: e.Note, RequestID: e.RequestID,
		})
	}
	return events
}

// SaveTicket writes the projection of t: an ordered, idempotent upsert. In one
// transaction the tickets row is inserted, or replaced only when t.Seq is greater
// than the stored seq (a repeated or stale write changes nothing), and every
// event of t.Timeline not stored yet is added (events already stored, by ticket
// and seq, are kept as they are). The SLA aggregate (sla_aggregate.go) moves in
// the same transaction by the difference between the row replaced and the new
// one. Calling it twice with the same value, or with an older value after a
// newer one, is therefore harmless.
func (db *DB) SaveTicket(ctx context.Context, t models.Ticket) error {
	if strings.TrimSpace(t.ID) == "" {
		return models.Errorf(models.EINVALID, "ticket id is empty: a projected ticket needs its id")
	}
	if len(t.ID) > 64 {
		return models.Errorf(models.EINVALID, "ticket id %q is longer than 64 characters", t.ID)
	}
	if t.CreatedAt.IsZero() {
		return models.Errorf(models.EINVALID, "ticket %s has no created_at", t.ID)
	}
	// The column widths, checked here so both dialects refuse the same values
	// (SQLite would store them, MySQL in strict mode would not).
	for _, f := range []struct {
		name, value string
		max         int
	}{{"order_id", t.OrderID, 128}, {"shop_id", t.ShopID, 128}, {"buyer_id", t.BuyerID, 128}} {
		if len(f.value) > f.max {
			return models.Errorf(models.EINVALID, "ticket %s: %s is longer than %d characters", t.ID, f.name, f.max)
		}
	}
	row, err := rowOf(t)
	if err != nil {
		return err
	}
	events := eventRowsOf(t)
	err = db.inTx(ctx, func(tx *gorm.DB) error {
		// Insert if absent; otherwise replace only a row with an older seq. The
		// existing row is read under a lock (the insert took it on MySQL, the
		// transaction holds the write lock on SQLite), so concurrent writers of
		// one ticket converge on the highest seq whatever their order, and the
		// SLA aggregate moves by exactly the difference between the two rows.
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		delta := slaDelta{}
		if res.RowsAffected == 1 {
			delta.change(nil, row)
		} else {
			var old ticketRow
			q := tx.Select(slaRowColumns).Where("id = ?", row.ID)
			if db.dialect == DialectMySQL {
				q = q.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			if err := q.Take(&old).Error; err != nil {
				return err
			}
			if old.Seq < row.Seq {
				if err := tx.Model(&ticketRow{}).Where("id = ? AND seq < ?", row.ID, row.Seq).
					Updates(row.columns()).Error; err != nil {
					return err
				}
				delta.change(&old, row)
			}
		}
		if err := delta.apply(tx, db.dialect); err != nil {
			return err
		}
		if len(events) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&events, 200).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return dbError(err, "save ticket %s", t.ID)
}

// GetTicket returns the stored ticket with its timeline rebuilt from the audit
// trail, ordered by seq. ENOTFOUND when no projection of id exists.
func (db *DB) GetTicket(ctx context.Context, id string) (models.Ticket, error) {
	t, err := db.GetTicketHead(ctx, id)
	if err != nil {
		return t, err
	}
	var events []eventRow
	if err := db.gdb.WithContext(ctx).Where("ticket_id = ?", id).Order("seq").Find(&events).Error; err != nil {
		return models.Ticket{}, dbError(err, "get timeline of ticket %s", id)
	}
	t.Timeline = make([]models.Event, 0, len(events))
	for _, e := range events {
		t.Timeline = append(t.Timeline, models.Event{
			Seq: e.Seq, At: e.At.Time, Actor: e.Actor, Role: models.Role(e.Role), Action: e.Action,
			From: models.State(e.FromState), To: models.State(e.ToState), Note: e.Note, RequestID: e.RequestID,
		})
	}
	return t, nil
}

// GetTicketHead returns the stored ticket without its timeline (one query):
// what deciding who may act on it needs. ENOTFOUND when no projection of id exists.
func (db *DB) GetTicketHead(ctx context.Context, id string) (models.Ticket, error) {
	var row ticketRow
	err := db.gdb.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Ticket{}, models.Errorf(models.ENOTFOUND, "ticket %s not found", id)
	} else if err != nil {
		return models.Ticket{}, dbError(err, "get ticket %s", id)
	}
	t, err := row.ticket()
	if err != nil {
		return models.Ticket{}, err
	}
	t.Timeline = nil
	return t, nil
}

// Page sizes of ListTickets.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListTickets returns one page of tickets matching f, newest first by
// (created_at, id). The tickets carry no timeline. The cursor is opaque; a cursor
// that this function did not produce is refused with EINVALID.
func (db *DB) ListTickets(ctx context.Context, f models.TicketFilter) (models.TicketPage, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return models.TicketPage{}, models.Errorf(models.EINVALID, "limit %d is negative: give a page size from 1 to %d", limit, MaxPageSize)
	case limit == 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	if f.State != "" && !models.State(f.State).Valid() {
		return models.TicketPage{}, models.Errorf(models.EINVALID, "state %q is not a ticket state: use one of %s", f.State, joinStates())
	}
	if f.Kind != "" && !models.Kind(f.Kind).Valid() {
		return models.TicketPage{}, models.Errorf(models.EINVALID, "kind %q is not a ticket kind: use one of %s", f.Kind, joinKinds())
	}
	q := db.gdb.WithContext(ctx).Model(&ticketRow{})
	if f.DeadlineBefore != nil {
		// Only open tickets have a deadline, so the tickets due before a time
		// are few: read them by deadline and sort them, rather than walk every
		// ticket newest first (SQLite's plan once a cursor bounds created_at).
		index := "idx_tickets_deadline_created"
		if f.ShopID != "" {
			index = "idx_tickets_shop_deadline"
		}
		q = db.ticketsIndexedBy(q, index)
	}
	if f.ShopID != "" {
		q = q.Where("shop_id = ?", f.ShopID)
	}
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.RMA != "" {
		q = q.Where("rma = ?", f.RMA)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Escalated != nil {
		q = q.Where("escalated = ?", *f.Escalated)
	}
	if f.DeadlineBefore != nil {
		q = q.Where("deadline_at < ?", ts(*f.DeadlineBefore))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return models.TicketPage{}, err
		}
		// The first condition bounds the index range; the second drops the
		// tickets of the cursor's instant that were already listed.
		q = q.Where("created_at <= ? AND (created_at < ? OR id < ?)", ts(at), ts(at), id)
	}
	q = q.Order("created_at DESC, id DESC").Limit(limit + 1)
	var rows []ticketRow
	var err error
	if f.DeadlineBefore != nil {
		rows, err = db.ticketsByID(ctx, q) // a sort: of keys, not of whole rows
	} else {
		err = q.Find(&rows).Error
	}
	if err != nil {
		return models.TicketPage{}, dbError(err, "list tickets")
	}
	page := models.TicketPage{Tickets: make([]models.Ticket, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt.Time, last.ID)
	}
	for _, r := range rows {
		t, err := r.ticket()
		if err != nil {
			return models.TicketPage{}, err
		}
		page.Tickets = append(page.Tickets, t)
	}
	return page, nil
}

// ticketsByID runs q for the ids of the tickets only, then reads those tickets,
// in the order of q.
func (db *DB) ticketsByID(ctx context.Context, q *gorm.DB) ([]ticketRow, error) {
	var ids []string
	if err := q.Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return nil, err
	}
	var rows []ticketRow
	if err := db.gdb.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(rows, func(a, b ticketRow) int { return at[a.ID] - at[b.ID] })
	return rows, nil
}

// ticketsIndexedBy makes q read tickets through index. Used where a planner
// picks worse on its own: SQLite's has no statistics on how many rows a range
// holds, and MySQL's choice measured several times slower in the read-model
// benchmark (BENCHMARKS.md).
func (db *DB) ticketsIndexedBy(q *gorm.DB, index string) *gorm.DB {
	if db.dialect == DialectMySQL {
		return q.Table("tickets FORCE INDEX (" + index + ")")
	}
	return q.Table("tickets INDEXED BY " + index)
}

// A cursor is the base64 of "<created_at in timeLayout>|<id>" of the last ticket
// of a page. created_at is taken from the column (microseconds), not the view, so
// the comparison in the next query is exact.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(timeLayout) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", models.Errorf(models.EINVALID, "cursor is not valid: it is not base64 (%v); pass next_cursor of the previous page as is", err)
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return time.Time{}, "", models.Errorf(models.EINVALID, "cursor is not valid: it does not come from a previous page; pass next_cursor as is")
	}
	t, err := time.Parse(timeLayout, at)
	if err != nil {
		return time.Time{}, "", models.Errorf(models.EINVALID, "cursor is not valid: bad time %q; pass next_cursor as is", at)
	}
	return t, id, nil
}

func joinStates() string {
	s := make([]string, len(models.States))
	for i, v := range models.States {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func joinKinds() string {
	s := make([]string, len(models.Kinds))
	for i, v := range models.Kinds {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
