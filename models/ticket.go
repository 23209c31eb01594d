package models

import "time"

// Ticket is one after-sales ticket (服务单) as the API shows it. The ticket workflow
// owns the live value; the read model stores projections of it, ordered by Seq.
type Ticket struct {
	ID string `json:"id"`
	// RMA is the ticket's short number within its shop (RMANumber), for people
	// to read out on the phone; empty for a ticket from before RMA numbers.
	RMA            string       `json:"rma,omitempty"`
	OrderID        string       `json:"order_id"`
	ShopID         string       `json:"shop_id"`
	BuyerID        string       `json:"buyer_id"`
	Kind           Kind         `json:"kind"`
	State          State        `json:"state"`
	Outcome        Outcome      `json:"outcome"`
	ReturnMethod   ReturnMethod `json:"return_method"`
	ReasonCode     ReasonCode   `json:"reason_code"`
	Reason         string       `json:"reason"`
	RequestedCents int64        `json:"requested_cents"`
	RefundedCents  int64        `json:"refunded_cents"`
	Currency       string       `json:"currency"`
	Deadline       *Deadline    `json:"deadline"`
	Flags          Flags        `json:"flags"`
	PolicyVersion  string       `json:"policy_version"`

	Order       OrderInfo `json:"order"`
	Items       []Item    `json:"items"`
	ExternalID  string    `json:"external_id,omitempty"`
	BuyerCredit int       `json:"buyer_credit"`
	ExchangeSKU string    `json:"exchange_sku,omitempty"`
	// Exchange is the replacement's price and the difference it makes, when the
	// seller stated one approving an exchange.
	Exchange      *ExchangePrice `json:"exchange,omitempty"`
	PickupAddress string         `json:"pickup_address,omitempty"`

	// ReturnShippingPayer is "seller" when the reason is the seller's fault, else "buyer".
	ReturnShippingPayer string      `json:"return_shipping_payer,omitempty"`
	FastReviewRule      string      `json:"fast_review_rule,omitempty"`
	Offer               *Offer      `json:"offer,omitempty"`
	Logistics           Logistics   `json:"logistics"`
	Inspection          *Inspection `json:"inspection,omitempty"`
	Escalation          *Escalation `json:"escalation,omitempty"`
	FirstReplyAt        *time.Time  `json:"first_reply_at,omitempty"`
	Evaluation          *Evaluation `json:"evaluation,omitempty"`
	Refunds             Money       `json:"refunds"`
	// RefundCapCents is what the ticket may refund: the requested amount, the
	// accepted offer, the inspection's amount or the verdict's. Under the money
	// rules RulesMoneyAnchored it is the ceiling of the net refund (Money.Owed,
	// Money.Excess), and money paid never raises it.
	RefundCapCents int64 `json:"refund_cap_cents,omitempty"`
	// Rules is the version of the money rules the ticket was created under
	// (RulesMoneyAnchored, or 0 for the rules before it); it keeps it to the end.
	Rules int `json:"rules,omitempty"`
	// OverduesAfterVerdict counts the refund_by deadlines that passed with money
	// in flight since the platform last ordered the refund.
	OverduesAfterVerdict int `json:"overdues_after_verdict,omitempty"`
	// RoomRefusals counts the refunds the ledger refused after the platform's
	// verdict because the order's refunds left no room: each waits a refund_by
	// for room to come back (another ticket's key voided), and at refund_attempts
	// the ticket ends with what the buyer holds and tells the platform.
	RoomRefusals int `json:"room_refusals,omitempty"`
	// VoidedBeforeVerdict is how many refund keys the provider had voided when the
	// platform last ordered the refund: refund_attempts counts from there.
	VoidedBeforeVerdict int `json:"voided_before_verdict,omitempty"`
	// PendingOutcome is the outcome the ticket ends with once its money settles.
	PendingOutcome Outcome `json:"pending_outcome,omitempty"`
	// BuyerFlagged is the platform's risk flag on the buyer when the ticket began.
	BuyerFlagged bool `json:"buyer_flagged,omitempty"`
	Replies      int  `json:"replies,omitempty"`     // the seller's replies so far
	Escalations  int  `json:"escalations,omitempty"` // platform interventions so far
	// DelayReports lists the states in which the seller already reported a delay.
	DelayReports []State `json:"delay_reports,omitempty"`
	// Lines is the ticket line by line (TicketLines): filled in answers only,
	// never by Decide, the workflow or the read model.
	Lines []Line `json:"lines,omitempty"`

	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Seq       int64      `json:"seq"`
	Timeline  []Event    `json:"timeline"`
}

// Deadline is the SLA deadline that runs in the current state.
type Deadline struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// Flags are the boolean marks reports filter on.
type Flags struct {
	FastReviewed           bool `json:"fast_reviewed"`
	LightningRefund        bool `json:"lightning_refund"`
	Escalated              bool `json:"escalated"`
	ExcludedFromAssessment bool `json:"excluded_from_assessment"`
	SellerBreach           bool `json:"seller_breach"`
	ReplyLate              bool `json:"reply_late"`
	AutoActed              bool `json:"auto_acted"`
	WrittenOff             bool `json:"written_off"`
}

// OrderInfo is what the ticket needs to know about the order it belongs to.
type OrderInfo struct {
	PaidCents        int64     `json:"paid_cents"`
	PaidAt           time.Time `json:"paid_at"`
	Shipped          bool      `json:"shipped"`
	Delivered        bool      `json:"delivered"`
	FreightInsurance bool      `json:"freight_insurance"`
	SelfOperated     bool      `json:"self_operated"`
}

// Item is one order line the ticket covers.
type Item struct {
	SKU           string `json:"sku"`
	Qty           int    `json:"qty"`
	UnitPaidCents int64  `json:"unit_paid_cents"`
	// Category is the order line's, from the order record (CheckEligibility).
	Category Category `json:"category,omitempty"`
}

// Offer is the seller's negotiation proposal.
type Offer struct {
	RefundCents int64  `json:"refund_cents"`
	KeepItem    bool   `json:"keep_item"`
	Note        string `json:"note,omitempty"`
}

// Logistics records the courier legs of the ticket.
type Logistics struct {
	PickupAttempts int    `json:"pickup_attempts"`
	PickupBooking  string `json:"pickup_booking,omitempty"`
	Carrier        string `json:"carrier,omitempty"`
	TrackingNo     string `json:"tracking_no,omitempty"`
	ReplacementNo  string `json:"replacement_tracking_no,omitempty"`
	RepairOrder    string `json:"repair_order,omitempty"`
	// Returned: the goods really came back (delivered, confirmed or swapped).
	Returned bool `json:"returned,omitempty"`
}

// Inspection is the seller's verdict on the returned goods.
type Inspection struct {
	Result        string `json:"result"`
	DeductPercent int    `json:"deduct_percent"`
	Note          string `json:"note,omitempty"`
	// Lines is the finding line by line, when the seller gave one.
	Lines []LineInspection `json:"lines,omitempty"`
}

// Escalation is the platform intervention (平台介入) record.
type Escalation struct {
	By          Role      `json:"by"`
	Reason      string    `json:"reason"`
	From        State     `json:"from"`
	EvidenceBy  time.Time `json:"evidence_by"`
	DecideBy    time.Time `json:"decide_by"`
	Evidence    []Note    `json:"evidence"`
	Verdict     string    `json:"verdict,omitempty"`
	RefundCents int64     `json:"refund_cents,omitempty"`
	// Automatic: the verdict was the ticket's own at decide_by (no arbiter
	// decided), so a refund of it the ledger refuses is not sent back to the
	// platform's queue, where the same verdict would follow (see awaitRoom).
	Automatic bool `json:"automatic,omitempty"`
	// ClaimCents is what the buyer could still be awarded when it began.
	ClaimCents int64 `json:"claim_cents,omitempty"`
	// Orphaned: the escalation's own process failed or ended without a verdict
	// the ticket took; the ticket then keeps decide_by itself.
	Orphaned bool `json:"orphaned,omitempty"`
}

// AutomaticVerdict is the verdict when the platform has not decided by decide_by:
// the party that answered wins; only the buyer, or both, gives the buyer their
// claim (the platform protects the consumer when the seller's evidence goes
// unweighed); only the seller, or nobody, supports the seller.
func AutomaticVerdict(buyerAnswered, sellerAnswered bool, claimCents int64) Verdict {
	if buyerAnswered {
		return Verdict{Verdict: VerdictSupportBuyer, RefundCents: claimCents, Automatic: true,
			Note: "no verdict by decide_by; the buyer answered"}
	}
	note := "no verdict by decide_by; only the seller answered"
	if !sellerAnswered {
		note = "no verdict by decide_by; nobody answered"
	}
	return Verdict{Verdict: VerdictSupportSeller, Automatic: true, Note: note}
}

// Note is one piece of evidence.
type Note struct {
	Role Role      `json:"role"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
	URLs []string  `json:"urls,omitempty"`
}

// Evaluation is the buyer's score once the ticket ended.
type Evaluation struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Refund is one money movement of the ticket, identified by its idempotency key.
type Refund struct {
	Key         string      `json:"key"`
	AmountCents int64       `json:"amount_cents"`
	Purpose     Purpose     `json:"purpose"`
	Status      MoneyStatus `json:"status"`
	ProviderRef string      `json:"provider_ref,omitempty"`
	// Unanswered counts the calls about this key in a row that got no answer (the
	// provider is down); the timeline notes the first of them only.
	Unanswered int `json:"unanswered,omitempty"`
	// OrderOverCents is how much of this key's payment took the order's refunds
	// over what the order paid, as the ledger saw it when the key paid.
	OrderOverCents int64 `json:"order_over_cents,omitempty"`
	// Contradicted: the provider reported this key failed after it reported it
	// succeeded; the lookup that follows tells a stale report from a reversal.
	Contradicted bool `json:"contradicted,omitempty"`
	// Lines is the order lines this movement pays or charges back, summing to
	// its amount (absent for a ticket without lines, and for freight claims).
	Lines []LineCents `json:"lines,omitempty"`
}

// MoneyStatus is where a money movement stands, one spelling for the ticket,
// the refunds ledger, the activities and the providers' adapters; a status only
// rises (NextMoneyStatus).
type MoneyStatus string

// Money statuses, as in the refunds ledger.
const (
	RefundPending   MoneyStatus = "pending"
	RefundSent      MoneyStatus = "sent"
	RefundSucceeded MoneyStatus = "succeeded"
	RefundFailed    MoneyStatus = "failed"
)

// Event is one audit/timeline entry: every state change and every accepted action.
type Event struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Role      Role      `json:"role"`
	Action    string    `json:"action"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	Note      string    `json:"note,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
}

// Principal is who a request acts as: a role and its subject (the buyer's id,
// the seller's shop, the platform agent).
type Principal struct {
	Role    Role
	Subject string
}

// Scope is the principal as one string, "<role>:<subject>": what its
// idempotency keys, external ids and rate limit are scoped to.
func (p Principal) Scope() string { return string(p.Role) + ":" + p.Subject }
