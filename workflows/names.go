// Package workflows holds the durable processes of the product: one TicketWorkflow
// per after-sales ticket, its EscalationWorkflow child, and one ShippingWatchWorkflow
// per paid order. Workflow code here is deterministic: time comes from workflow.Now,
// concurrency from workflow.Go, side effects from activities.
package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/models"
)

// TaskQueue is the one task queue the worker polls.
const TaskQueue = "aftersales"

// Message names. Agent actions are one Update (validated before they enter history);
// webhooks are Signals; the ticket view is a Query.
const (
	UpdateAction    = "action"
	SignalCourier   = "courier-event"
	SignalPayment   = "payment-event"
	QueryTicket     = "ticket"
	SignalEvidence  = "evidence"
	SignalArbitrate = "arbitrate"
	SignalShipped   = "shipped"
	QueryWatch      = "shipping-watch"
)

// TicketWorkflowID is the deterministic workflow ID of a ticket.
func TicketWorkflowID(ticketID string) string { return "ticket-" + ticketID }

// ShippingWatchWorkflowID is the deterministic workflow ID of an order's watch:
// the order is (shop, order id), so it names both (models.OrderName).
func ShippingWatchWorkflowID(shopID, orderID string) string {
	return "shipping-watch-" + models.OrderName(shopID, orderID)
}

// LegacyShippingWatchWorkflowID is the workflow ID of a watch started before
// orders were keyed by shop: it names the order id alone. Such a watch keeps it,
// and its compensation keys, to its end.
func LegacyShippingWatchWorkflowID(orderID string) string { return "shipping-watch-" + orderID }

// Search attributes an operator filters on in the Web UI.
var (
	SATicketState = temporal.NewSearchAttributeKeyKeyword("TicketState")
	SATicketKind  = temporal.NewSearchAttributeKeyKeyword("TicketKind")
	SAShopID      = temporal.NewSearchAttributeKeyKeyword("ShopID")
	SAOrderID     = temporal.NewSearchAttributeKeyKeyword("OrderID")
	SASLADeadline = temporal.NewSearchAttributeKeyTime("SLADeadline")
	SAEscalated   = temporal.NewSearchAttributeKeyBool("Escalated")
	SARMA         = temporal.NewSearchAttributeKeyKeyword("RMA")
)

// SearchAttributes lists the custom search attributes to register on a namespace.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	"TicketState": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"TicketKind":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"ShopID":      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"OrderID":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"SLADeadline": enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"Escalated":   enumspb.INDEXED_VALUE_TYPE_BOOL,
	"RMA":         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// TicketInput starts a TicketWorkflow.
type TicketInput struct {
	TicketID     string              `json:"ticket_id"`
	Create       models.CreateTicket `json:"create"`
	Policy       models.Policy       `json:"policy"`
	BodyHash     string              `json:"body_hash"`
	Actor        string              `json:"actor"`
	Role         models.Role         `json:"role"`
	RequestID    string              `json:"request_id"`
	BuyerFlagged bool                `json:"buyer_flagged"`
	// RMA is the ticket's number within its shop (models.RMANumber), given by
	// the starter; empty for a ticket from before RMA numbers.
	RMA string `json:"rma,omitempty"`
	// CreatedAt is when the API accepted the application: the ticket's deadlines
	// count from it, and the search attributes given at the start agree with them.
	// Zero: the start of the workflow.
	CreatedAt time.Time `json:"created_at,omitempty"`
	// CreationProjected: the starter wrote the created ticket (CreatedTicket) to
	// the read model itself, so the run's first projection waits for the next
	// change (and sends the whole timeline then, in case that write was lost).
	// Heeded only by a run that records creationChange.
	CreationProjected bool `json:"creation_projected,omitempty"`
	// Carried is the state a run hands to the next when it continues as new.
	Carried *Carried `json:"carried,omitempty"`
}

// Carried is what a ticket's run carries into its next run (continue-as-new):
// the ticket without its timeline (the read model holds it), the latest webhook
// event ids it applied, and the effects it had asked for and not started.
type Carried struct {
	Ticket   models.Ticket   `json:"ticket"`
	Seen     []string        `json:"seen,omitempty"`
	Failures map[string]int  `json:"failures,omitempty"`
	Queue    []models.Effect `json:"queue,omitempty"`
	Runs     int             `json:"runs"`
}

// ActionResult is what an accepted action returns: the ticket after it.
type ActionResult struct {
	Ticket models.Ticket `json:"ticket"`
}

// EvidenceSignal carries one party's evidence to the escalation child.
type EvidenceSignal struct {
	Role models.Role `json:"role"`
	Note models.Note `json:"note"`
}

// Verdict is the escalation's result.
type Verdict struct {
	Verdict     string `json:"verdict"`
	RefundCents int64  `json:"refund_cents"`
	Note        string `json:"note"`
	Actor       string `json:"actor"`
	Automatic   bool   `json:"automatic"`
}
