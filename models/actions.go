package models

import (
	"strings"
	"time"
)

// Action names, as in POST /v1/tickets/{id}/{action}.
const (
	ActApprove            = "approve"
	ActReject             = "reject"
	ActOffer              = "offer"
	ActAcceptOffer        = "accept_offer"
	ActDeclineOffer       = "decline_offer"
	ActShip               = "ship"
	ActConfirmReceipt     = "confirm_receipt"
	ActInspect            = "inspect"
	ActReply              = "reply"
	ActReportDelay        = "report_delay"
	ActEscalate           = "escalate"
	ActEvidence           = "evidence"
	ActArbitrate          = "arbitrate"
	ActCancel             = "cancel"
	ActRevise             = "revise"
	ActConfirmReplacement = "confirm_replacement"
	ActEvaluate           = "evaluate"
	ActReconcile          = "reconcile"
)

// Inspection results and arbitration verdicts.
const (
	InspectPass   = "pass"
	InspectDeduct = "deduct"
	InspectFail   = "fail"

	VerdictSupportBuyer  = "support_buyer"
	VerdictSupportSeller = "support_seller"
)

// ActionRequest is one agent action on a ticket.
type ActionRequest struct {
	Action    string     `json:"action"`
	Actor     string     `json:"actor"` // the key's subject: buyer id, shop id, or agent name
	Role      Role       `json:"role"`
	RequestID string     `json:"request_id"`
	Body      ActionBody `json:"body"`
	// IfMatch, when above 0, is the ticket's seq as the caller last saw it (the
	// If-Match header): the action is refused with EPRECONDITION when the ticket
	// has moved on since, so an agent never acts on a screen that is out of date.
	IfMatch int64 `json:"if_match,omitempty"`
	// ReadSeq is the ticket's seq in the read model when the action was sent,
	// set by the application (never by a client). Above the workflow's own seq,
	// it says a worker wrote the read model and died before its workflow task
	// completed: the action is decided after the events that task applied again.
	ReadSeq int64 `json:"read_seq,omitempty"`
}

// ActionBody holds the parameters of every action; each action reads its own.
type ActionBody struct {
	Reason         string   `json:"reason,omitempty"`
	Note           string   `json:"note,omitempty"`
	Message        string   `json:"message,omitempty"`
	RefundCents    *int64   `json:"refund_cents,omitempty"`
	KeepItem       bool     `json:"keep_item,omitempty"`
	Carrier        string   `json:"carrier,omitempty"`
	TrackingNo     string   `json:"tracking_no,omitempty"`
	Result         string   `json:"result,omitempty"`
	DeductPercent  int      `json:"deduct_percent,omitempty"`
	Extend         string   `json:"extend,omitempty"`
	URLs           []string `json:"urls,omitempty"`
	Verdict        string   `json:"verdict,omitempty"`
	Score          int      `json:"score,omitempty"`
	Comment        string   `json:"comment,omitempty"`
	RequestedCents *int64   `json:"requested_cents,omitempty"`
	// Key and Status: reconcile's money key and its status at the provider.
	Key    string      `json:"key,omitempty"`
	Status MoneyStatus `json:"status,omitempty"`
	// Lines: inspect's finding line by line (absent: the ticket inspected whole).
	Lines []LineInspection `json:"lines,omitempty"`
	// ExchangeUnitCents: approve's price of one unit of an exchange's
	// replacement variant, when it differs from what the units were paid.
	ExchangeUnitCents *int64 `json:"exchange_unit_cents,omitempty"`
}

// Actions lists every action name, sorted as documented.
var Actions = []string{ActApprove, ActReject, ActOffer, ActAcceptOffer, ActDeclineOffer, ActShip,
	ActConfirmReceipt, ActInspect, ActReply, ActReportDelay, ActEscalate, ActEvidence, ActArbitrate,
	ActCancel, ActRevise, ActConfirmReplacement, ActEvaluate, ActReconcile}

// IsParty reports whether the caller may see and act on ticket t at all: the buyer
// of the ticket, the seller of its shop, or the platform.
func IsParty(t Ticket, role Role, subject string) bool {
	switch role {
	case RoleBuyer:
		return subject == t.BuyerID
	case RoleSeller:
		return subject == t.ShopID
	case RolePlatform, RoleAdmin:
		return true
	}
	return false
}

// CheckAction decides whether req may be applied to t now, without changing t. It
// returns EFORBIDDEN for the wrong party, ECONFLICT when the state does not allow the
// action, and EINVALID for bad parameters. The workflow's update validator calls it,
// so a refused action never enters the ticket's history.
func CheckAction(t Ticket, req ActionRequest, p Policy, now time.Time) error {
	rule, ok := actionRules[req.Action]
	if !ok {
		return Errorf(ENOTFOUND, "unknown action %q; actions are %s", req.Action, strings.Join(Actions, ", "))
	}
	if !IsParty(t, req.Role, req.Actor) {
		return Errorf(EFORBIDDEN, "ticket %s is not yours", t.ID)
	}
	if req.IfMatch > 0 && req.IfMatch != t.Seq {
		return Errorf(EPRECONDITION, "ticket %s has moved on since you read it (seq %d, now %d): read it again and decide on what it shows now",
			t.ID, req.IfMatch, t.Seq)
	}
	if !oneOf(req.Role, rule.roles) {
		return Errorf(EFORBIDDEN, "a %s may not %s", req.Role, req.Action)
	}
	if !rule.allows(t.State) {
		return Errorf(ECONFLICT, "cannot %s a ticket in state %s", req.Action, t.State)
	}
	return checkParams(t, req, p, now)
}

// checkParams validates the action's own parameters against the ticket.
func checkParams(t Ticket, req ActionRequest, p Policy, now time.Time) error {
	if err := checkBodyLimits(t, req); err != nil {
		return err
	}
	b := req.Body
	switch req.Action {
	case ActApprove:
		return checkExchangePrice(t, b)
	case ActReject:
		if strings.TrimSpace(b.Reason) == "" {
			return Errorf(EINVALID, "reject needs a reason the buyer can read")
		}
	case ActOffer:
		if b.RefundCents == nil || *b.RefundCents <= 0 {
			return Errorf(EINVALID, "offer needs refund_cents, a positive amount")
		}
		if bound, what := t.RefundBound(); *b.RefundCents > bound {
			return Errorf(EINVALID, "refund_cents %d is more than %s", *b.RefundCents, what)
		}
	case ActShip:
		if strings.TrimSpace(b.TrackingNo) == "" || strings.TrimSpace(b.Carrier) == "" {
			return Errorf(EINVALID, "ship needs carrier and tracking_no")
		}
	case ActInspect:
		switch b.Result {
		case InspectPass, InspectFail:
		case InspectDeduct:
			if t.Kind != KindReturnRefund {
				return Errorf(EINVALID, "a restocking fee applies to refunds only; pass or fail the %s instead", t.Kind)
			}
			if b.DeductPercent <= 0 {
				return Errorf(EINVALID, "inspect with result deduct needs deduct_percent above 0")
			}
			if _, err := RefundAfterInspection(t, p, b.DeductPercent); err != nil {
				return err
			}
		default:
			return Errorf(EINVALID, "inspect needs result pass, deduct or fail")
		}
		return checkInspectLines(t, b)
	case ActReportDelay:
		return checkDelayReport(t, b, p)
	case ActEscalate:
		if strings.TrimSpace(b.Reason) == "" {
			return Errorf(EINVALID, "escalate needs a reason for the platform")
		}
		if t.State == StateRefunding && !lastRefundFailed(t) {
			return Errorf(ECONFLICT, "the refund is still being paid; escalate only after it failed")
		}
	case ActEvidence:
		if strings.TrimSpace(b.Note) == "" && len(b.URLs) == 0 {
			return Errorf(EINVALID, "evidence needs a note or urls")
		}
		if t.Escalation != nil && !now.Before(t.Escalation.EvidenceBy) {
			return Errorf(ECONFLICT, "evidence closed at %s", t.Escalation.EvidenceBy.Format(time.RFC3339))
		}
	case ActArbitrate:
		return checkVerdict(t, b)
	case ActCancel:
		if MoneyMoved(t) {
			return Errorf(ECONFLICT, "money has already moved for ticket %s; it can no longer be withdrawn", t.ID)
		}
	case ActRevise:
		if t.Inspection != nil {
			return Errorf(ECONFLICT, "the returned goods were already inspected; escalate to the platform instead of revising")
		}
		if bound, what := t.RefundBound(); b.RequestedCents != nil && (*b.RequestedCents <= 0 || *b.RequestedCents > bound) {
			return Errorf(EINVALID, "requested_cents must be between 1 and %s", what)
		}
	case ActReconcile:
		return checkReconcile(t, b)
	case ActEvaluate:
		if b.Score < 1 || b.Score > 5 {
			return Errorf(EINVALID, "score must be 1 to 5")
		}
		if t.Evaluation != nil {
			return Errorf(ECONFLICT, "ticket %s is already evaluated", t.ID)
		}
		if t.EndedAt != nil && now.After(t.EndedAt.Add(p.EvaluationWindow.D())) {
			return Errorf(ECONFLICT, "the evaluation window closed at %s", t.EndedAt.Add(p.EvaluationWindow.D()).Format(time.RFC3339))
		}
	}
	return nil
}

func checkDelayReport(t Ticket, b ActionBody, p Policy) error {
	if strings.TrimSpace(b.Reason) == "" {
		return Errorf(EINVALID, "report_delay needs a reason")
	}
	d, err := ParseDuration(b.Extend)
	if err != nil || d <= 0 {
		return Errorf(EINVALID, "report_delay needs extend, a duration such as 24h")
	}
	if d > p.DelayReportMax {
		return Errorf(EINVALID, "extend %s is more than the %s a delay report may add", d, p.DelayReportMax)
	}
	if oneOf(t.State, t.DelayReports) {
		return Errorf(ECONFLICT, "a delay was already reported in state %s; one report per stage", t.State)
	}
	if t.Deadline == nil {
		return Errorf(ECONFLICT, "no deadline runs in state %s", t.State)
	}
	if p.NoReasonInspectTimeout > 0 && t.ReasonCode == ReasonNoReason &&
		(t.State == StateAwaitingInspection || t.State == StateRefunding) {
		// The goods are back: the law's 7 days to the refund run (消法 §25), and
		// the policy's deadlines already use them (NoReasonRefundWithin).
		return Errorf(ECONFLICT, "a no-reason return is refunded within 7 days of the goods' receipt (消法 §25): its %s cannot be extended", t.Deadline.Name)
	}
	return nil
}

// checkReconcile: the key is one of the ticket's, the status one the provider's
// console can show (succeeded or void), a note says where it was seen, and the
// status moves the key forwards.
func checkReconcile(t Ticket, b ActionBody) error {
	i := t.Refunds.Find(b.Key)
	switch {
	case i < 0:
		return Errorf(EINVALID, "key %q is not a money movement of ticket %s", b.Key, t.ID)
	case b.Status != RefundSucceeded && b.Status != RefundVoid:
		return Errorf(EINVALID, "status must be succeeded or void, as the provider's console shows the key")
	case strings.TrimSpace(b.Note) == "":
		return Errorf(EINVALID, "reconcile needs a note saying where the status was seen")
	}
	if _, changed := NextMoneyStatus(t.Refunds[i].Status, b.Status); !changed {
		return Errorf(ECONFLICT, "key %s is already %s; it cannot become %s", b.Key, t.Refunds[i].Status, b.Status)
	}
	return nil
}

func checkVerdict(t Ticket, b ActionBody) error {
	switch b.Verdict {
	case VerdictSupportSeller:
	case VerdictSupportBuyer:
		if b.RefundCents == nil || *b.RefundCents < 0 {
			return Errorf(EINVALID, "support_buyer needs refund_cents (0 or more)")
		}
		if *b.RefundCents > t.StillRefundable() {
			return Errorf(EINVALID, "refund_cents %d is more than the %d cents still refundable (the %d paid less what is refunded or being refunded)",
				*b.RefundCents, t.StillRefundable(), t.Order.PaidCents)
		}
	default:
		return Errorf(EINVALID, "verdict must be support_buyer or support_seller")
	}
	return nil
}

// MoneyMoved reports whether any money of t moved or may still move: every
// movement but one the provider confirmed void counts (a failed one may still pay).
func MoneyMoved(t Ticket) bool {
	for _, r := range t.Refunds {
		if r.Status != RefundVoid {
			return true
		}
	}
	return false
}

func lastRefundFailed(t Ticket) bool {
	return len(t.Refunds) > 0 && t.Refunds[len(t.Refunds)-1].Status == RefundFailed
}
