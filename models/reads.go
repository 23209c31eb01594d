package models

import "time"

// The read model's answers and queries, as the store returns them and the API
// and the commands name them.

// TicketFilter selects tickets for ListTickets. Empty fields do not filter.
type TicketFilter struct {
	ShopID    string
	RMA       string // the ticket's RMA number (RMANumber)
	State     string
	Kind      string
	Escalated *bool
	// DeadlineBefore keeps tickets whose running deadline is strictly before it.
	DeadlineBefore *time.Time
	// Cursor is NextCursor of the previous page; empty for the first page.
	Cursor string
	// Limit is the page size: 50 when 0, at most 200.
	Limit int
}

// TicketPage is one page of tickets, newest first. NextCursor is empty on the
// last page.
type TicketPage struct {
	Tickets    []Ticket `json:"tickets"`
	NextCursor string   `json:"next_cursor"`
}

// SLAFilter selects the tickets of an SLA report: those created in [From, To),
// of one shop or (ShopID empty) of all shops.
type SLAFilter struct {
	ShopID string
	From   time.Time
	To     time.Time
}

// SLAReport is the after-sales service level of a shop over a period. Tickets
// flagged excluded_from_assessment (a delay report was filed) are left out of
// every figure and only counted in Excluded. Rates are shares in [0, 1]; with no
// ticket they are 0.
type SLAReport struct {
	ShopID   string    `json:"shop_id,omitempty"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Total    int64     `json:"total"`
	Excluded int64     `json:"excluded"`

	Completed    int64 `json:"completed"`
	Closed       int64 `json:"closed"`
	Escalated    int64 `json:"escalated"`
	AutoActed    int64 `json:"auto_acted"`
	FastReviewed int64 `json:"fast_reviewed"`
	Lightning    int64 `json:"lightning_refund"`

	// Ended counts the tickets that reached completed or closed; the durations
	// are from created_at to ended_at over them. P90 is the nearest-rank 90th
	// percentile.
	Ended              int64   `json:"ended"`
	AvgDurationSeconds float64 `json:"avg_duration_seconds"`
	P90DurationSeconds float64 `json:"p90_duration_seconds"`

	// RepliedInTime counts tickets whose seller replied within the reply target.
	RepliedInTime int64   `json:"replied_in_time"`
	ReplyRate     float64 `json:"reply_rate"`
	DisputeRate   float64 `json:"dispute_rate"`

	SatisfactionAvg   float64 `json:"satisfaction_avg"`
	SatisfactionCount int64   `json:"satisfaction_count"`
}

// Warnings is what needs attention now: open tickets whose deadline falls within
// the window (overdue ones included, soonest first) and the tickets open longest.
type Warnings struct {
	ShopID        string          `json:"shop_id,omitempty"`
	Now           time.Time       `json:"now"`
	WithinSeconds int64           `json:"within_seconds"`
	DueSoon       []WarningTicket `json:"due_soon"`
	LongestOpen   []WarningTicket `json:"longest_open"`
}

// WarningTicket is one open ticket of a warnings list.
type WarningTicket struct {
	ID           string     `json:"id"`
	OrderID      string     `json:"order_id"`
	ShopID       string     `json:"shop_id"`
	BuyerID      string     `json:"buyer_id"`
	Kind         string     `json:"kind"`
	State        string     `json:"state"`
	Escalated    bool       `json:"escalated"`
	DeadlineName string     `json:"deadline_name,omitempty"`
	DeadlineAt   *time.Time `json:"deadline_at,omitempty"`
	// SecondsLeft is the time to the deadline at Now, negative when overdue;
	// absent when no deadline runs.
	SecondsLeft *int64    `json:"seconds_left,omitempty"`
	Overdue     bool      `json:"overdue"`
	CreatedAt   time.Time `json:"created_at"`
	OpenSeconds int64     `json:"open_seconds"`
}

// Stats are the business figures /metrics exports, read from the read model at
// scrape time so that every API replica reports the same numbers.
type Stats struct {
	Tickets   []TicketCount `json:"tickets"`
	Refunds   []RefundCount `json:"refunds"`
	Breaches  int64         `json:"breaches"`  // tickets whose seller missed refund_by
	Escalated int64         `json:"escalated"` // tickets that went to the platform
}

// TicketCount is how many tickets are in a state, by kind.
type TicketCount struct {
	State, Kind string
	N           int64
}

// RefundCount is the ledger by purpose and status: how many keys and their amount.
type RefundCount struct {
	Purpose, Status string
	N, Cents        int64
}

// RefundRow is one entry of the refunds ledger.
type RefundRow struct {
	Key         string      `json:"key"`
	TicketID    string      `json:"ticket_id"`
	ShopID      string      `json:"shop_id"`
	OrderID     string      `json:"order_id"`
	AmountCents int64       `json:"amount_cents"`
	Currency    string      `json:"currency"`
	Purpose     Purpose     `json:"purpose"`
	Status      MoneyStatus `json:"status"`
	ProviderRef string      `json:"provider_ref,omitempty"`
	Attempts    int         `json:"attempts"`
	// OrderOverCents is how far this key, paying after its room was given back
	// (void, then succeeded), took the order's refunds over what was paid: the
	// ticket whose key it is charges that back.
	OrderOverCents int64 `json:"order_over_cents,omitempty"`
	// Lines is the order lines the movement pays or charges back.
	Lines     []LineCents `json:"lines,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	// Reserved: ReserveRefund made this reservation now. False when it found one
	// an earlier attempt made, which may have reached the provider.
	Reserved bool `json:"-"`
}

// IdempotencyClaim is the stored claim of an idempotency key. New is true only
// for the call that created it; every other call gets the first caller's
// TicketID and BodyHash, to answer with the same ticket (same body) or refuse
// (different body).
type IdempotencyClaim struct {
	TicketID string `json:"ticket_id"`
	BodyHash string `json:"body_hash"`
	New      bool   `json:"new"`
}

// IdempotentRequest is the stored state of one principal's Idempotency-Key.
type IdempotentRequest struct {
	// New: this call claimed the key and must run the request, then Finish or Release it.
	New bool
	// RequestHash identifies the first request (method, path and body).
	RequestHash string
	// TicketID is the ticket id chosen when the key was claimed: a create run
	// again under the key creates that ticket, never a second one.
	TicketID string
	// Status is the first answer's HTTP status; 0 while the first request runs.
	Status      int
	ContentType string
	Response    []byte
	// Since is when the key was claimed, or last taken over.
	Since time.Time
}

// WebhookEvent is what the database knows of a provider's event id.
type WebhookEvent struct {
	// Delivered: the event reached its ticket before; a repeat is answered and dropped.
	Delivered bool
	// SameBody: the stored event had this body. A provider that sends another body
	// under an event id it used is refused rather than believed twice.
	SameBody bool
}

// PendingWebhookEvent is an event recorded and not delivered, with the body
// its provider signed.
type PendingWebhookEvent struct {
	Provider, EventID string
	Body              []byte
	ReceivedAt        time.Time
}

// Refund returns the entry as the ticket shows it.
func (r RefundRow) Refund() Refund {
	return Refund{Key: r.Key, AmountCents: r.AmountCents, Purpose: r.Purpose, Status: r.Status, ProviderRef: r.ProviderRef}
}
