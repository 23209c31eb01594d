package models

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy holds every platform rule a ticket runs under. A ticket records the
// policy's Version at creation and keeps the whole policy to the end.
type Policy struct {
	Version string `yaml:"version" json:"version"`

	ReviewTimeout        Duration `yaml:"review_timeout" json:"review_timeout"`
	OfferResponseTimeout Duration `yaml:"offer_response_timeout" json:"offer_response_timeout"`
	AppealTimeout        Duration `yaml:"appeal_timeout" json:"appeal_timeout"`
	PickupTimeout        Duration `yaml:"pickup_timeout" json:"pickup_timeout"`
	PickupAttempts       int      `yaml:"pickup_attempts" json:"pickup_attempts"`
	BuyerShipTimeout     Duration `yaml:"buyer_ship_timeout" json:"buyer_ship_timeout"`
	TransitTimeout       Duration `yaml:"transit_timeout" json:"transit_timeout"`
	InspectTimeout       Duration `yaml:"inspect_timeout" json:"inspect_timeout"`
	// NoReasonInspectTimeout bounds a no-reason return's inspection (the
	// shorter of it and inspect_timeout), whose refund the law wants within 7
	// days of the goods' receipt (消法 §25): with refund_timeout it may not
	// exceed NoReasonRefundWithin. Zero (a policy from before it): inspect_timeout.
	NoReasonInspectTimeout    Duration `yaml:"no_reason_inspect_timeout" json:"no_reason_inspect_timeout,omitempty"`
	RefundTimeout             Duration `yaml:"refund_timeout" json:"refund_timeout"`
	ReplacementConfirmTimeout Duration `yaml:"replacement_confirm_timeout" json:"replacement_confirm_timeout"`
	RepairTimeout             Duration `yaml:"repair_timeout" json:"repair_timeout"`
	EvidenceTimeout           Duration `yaml:"evidence_timeout" json:"evidence_timeout"`
	ArbiterTimeout            Duration `yaml:"arbiter_timeout" json:"arbiter_timeout"`
	RecoverTimeout            Duration `yaml:"recover_timeout" json:"recover_timeout"`
	EvaluationWindow          Duration `yaml:"evaluation_window" json:"evaluation_window"`
	DelayReportMax            Duration `yaml:"delay_report_max" json:"delay_report_max"`
	ReplyTarget               Duration `yaml:"reply_target" json:"reply_target"`
	// LateMoneyWindow is how long after a ticket ended money and goods still
	// reach it (a late success of a void key, a charge back settling, a parcel
	// after a write-off) and are handled by the same rules.
	LateMoneyWindow Duration `yaml:"late_money_window" json:"late_money_window"`
	// RefundAttempts is how many times a refund the provider declared failed is sent
	// again (under a new key) before the ticket escalates to the platform.
	RefundAttempts int `yaml:"refund_attempts" json:"refund_attempts"`

	FastReview              FastReviewRule      `yaml:"fast_review" json:"fast_review"`
	LightningRefund         LightningRefundRule `yaml:"lightning_refund" json:"lightning_refund"`
	RestockingFeeMaxPercent int                 `yaml:"restocking_fee_max_percent" json:"restocking_fee_max_percent"`
	ShipDeadline            Duration            `yaml:"ship_deadline" json:"ship_deadline"`
	ShippingCompensation    CompensationRule    `yaml:"compensation" json:"compensation"`
	// FreightClaimCents is what a freight-insurance (运费险) claim asks for the buyer's
	// one-way return freight; 0 turns claims off.
	FreightClaimCents int64 `yaml:"freight_claim_cents" json:"freight_claim_cents"`
	// ReturnWindows are the legal return windows a create is checked against
	// (CheckEligibility).
	ReturnWindows ReturnWindows `yaml:"return_windows" json:"return_windows"`
	// Shops turns fast review and lightning refund on or off per shop; a shop not
	// listed follows fast_review.enabled and lightning_refund.enabled.
	Shops map[string]ShopRule `yaml:"shops" json:"shops,omitempty"`
}

// ShopRule is one shop's choice of the platform's optional rules.
type ShopRule struct {
	FastReview      *bool `yaml:"fast_review" json:"fast_review,omitempty"`
	LightningRefund *bool `yaml:"lightning_refund" json:"lightning_refund,omitempty"`
}

// FastReviewOn says whether fast review applies to the shop's tickets.
func (p Policy) FastReviewOn(shop string) bool {
	if r, ok := p.Shops[shop]; ok && r.FastReview != nil {
		return *r.FastReview
	}
	return p.FastReview.Enabled
}

// LightningRefundOn says whether the shop has lightning refund.
func (p Policy) LightningRefundOn(shop string) bool {
	if r, ok := p.Shops[shop]; ok && r.LightningRefund != nil {
		return *r.LightningRefund
	}
	return p.LightningRefund.Enabled
}

// FastReviewRule approves a ticket at creation (极速审核).
type FastReviewRule struct {
	Enabled          bool     `yaml:"enabled" json:"enabled"`
	MaxCents         int64    `yaml:"max_cents" json:"max_cents"`
	MinCredit        int      `yaml:"min_credit" json:"min_credit"`
	MaxRecentReturns int      `yaml:"max_recent_returns" json:"max_recent_returns"`
	RecentWindow     Duration `yaml:"recent_window" json:"recent_window"`
}

// LightningRefundRule pays before the goods reach the seller (闪电退款).
type LightningRefundRule struct {
	Enabled   bool  `yaml:"enabled" json:"enabled"`
	MaxCents  int64 `yaml:"max_cents" json:"max_cents"`
	MinCredit int   `yaml:"min_credit" json:"min_credit"`
}

// CompensationRule is the delayed-shipment compensation (延迟发货赔付).
type CompensationRule struct {
	Percent           int   `yaml:"percent" json:"percent"`
	CapCents          int64 `yaml:"cap_cents" json:"cap_cents"`
	SelfOperatedCents int64 `yaml:"self_operated_cents" json:"self_operated_cents"`
}

const day = 24 * time.Hour

// DefaultPolicy returns the built-in policy: the table of DESIGN.md §3.
func DefaultPolicy() Policy {
	return Policy{
		Version:                   "builtin-1",
		ReviewTimeout:             Duration(48 * time.Hour),
		OfferResponseTimeout:      Duration(72 * time.Hour),
		AppealTimeout:             Duration(7 * day),
		PickupTimeout:             Duration(48 * time.Hour),
		PickupAttempts:            2,
		BuyerShipTimeout:          Duration(7 * day),
		TransitTimeout:            Duration(15 * day),
		InspectTimeout:            Duration(10 * day),
		NoReasonInspectTimeout:    Duration(5 * day),
		RefundTimeout:             Duration(48 * time.Hour),
		ReplacementConfirmTimeout: Duration(7 * day),
		RepairTimeout:             Duration(15 * day),
		EvidenceTimeout:           Duration(72 * time.Hour),
		ArbiterTimeout:            Duration(48 * time.Hour),
		RecoverTimeout:            Duration(7 * day),
		EvaluationWindow:          Duration(7 * day),
		DelayReportMax:            Duration(72 * time.Hour),
		ReplyTarget:               Duration(3 * time.Hour),
		LateMoneyWindow:           Duration(180 * day),
		RefundAttempts:            3,
		FastReview: FastReviewRule{Enabled: true, MaxCents: 500_00, MinCredit: 2,
			MaxRecentReturns: 3, RecentWindow: Duration(90 * day)},
		LightningRefund:         LightningRefundRule{Enabled: true, MaxCents: 3000_00, MinCredit: 2},
		RestockingFeeMaxPercent: 50,
		ShipDeadline:            Duration(48 * time.Hour),
		ShippingCompensation:    CompensationRule{Percent: 30, CapCents: 500_00, SelfOperatedCents: 5_00},
		FreightClaimCents:       12_00,
		ReturnWindows:           DefaultReturnWindows(),
	}
}

// LoadPolicy reads a YAML policy. Keys it leaves out keep their defaults; an unknown
// key or a bad value is refused with a message that names it.
func LoadPolicy(r io.Reader) (Policy, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Policy{}, err
	}
	p := DefaultPolicy()
	p.Version = ""
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, Errorf(EINVALID, "policy: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Validate checks every value and names the first bad key.
func (p Policy) Validate() error {
	if strings.TrimSpace(p.Version) == "" {
		return Errorf(EINVALID, "policy: version is required (any string, e.g. \"2026-11-a\"); tickets record it")
	}
	durations := []struct {
		key string
		d   Duration
	}{
		{"review_timeout", p.ReviewTimeout}, {"offer_response_timeout", p.OfferResponseTimeout},
		{"appeal_timeout", p.AppealTimeout}, {"pickup_timeout", p.PickupTimeout},
		{"buyer_ship_timeout", p.BuyerShipTimeout}, {"transit_timeout", p.TransitTimeout},
		{"inspect_timeout", p.InspectTimeout}, {"refund_timeout", p.RefundTimeout},
		{"no_reason_inspect_timeout", p.NoReasonInspectTimeout},
		{"replacement_confirm_timeout", p.ReplacementConfirmTimeout}, {"repair_timeout", p.RepairTimeout},
		{"evidence_timeout", p.EvidenceTimeout}, {"arbiter_timeout", p.ArbiterTimeout},
		{"recover_timeout", p.RecoverTimeout}, {"evaluation_window", p.EvaluationWindow},
		{"delay_report_max", p.DelayReportMax}, {"reply_target", p.ReplyTarget},
		{"late_money_window", p.LateMoneyWindow},
		{"ship_deadline", p.ShipDeadline}, {"fast_review.recent_window", p.FastReview.RecentWindow},
	}
	for _, d := range durations {
		if d.d <= 0 {
			return Errorf(EINVALID, "policy: %s must be a positive duration like 48h, got %s", d.key, d.d)
		}
	}
	ints := []struct {
		key       string
		v, lo, hi int64
	}{
		{"pickup_attempts", int64(p.PickupAttempts), 1, 10},
		{"refund_attempts", int64(p.RefundAttempts), 1, 10},
		{"restocking_fee_max_percent", int64(p.RestockingFeeMaxPercent), 0, 100},
		{"compensation.percent", int64(p.ShippingCompensation.Percent), 0, 100},
		{"compensation.cap_cents", p.ShippingCompensation.CapCents, 0, 1 << 40},
		{"compensation.self_operated_cents", p.ShippingCompensation.SelfOperatedCents, 0, 1 << 40},
		{"freight_claim_cents", p.FreightClaimCents, 0, 1 << 40},
		{"fast_review.max_cents", p.FastReview.MaxCents, 0, 1 << 40},
		{"fast_review.min_credit", int64(p.FastReview.MinCredit), 0, 5},
		{"fast_review.max_recent_returns", int64(p.FastReview.MaxRecentReturns), 0, 1000},
		{"lightning_refund.max_cents", p.LightningRefund.MaxCents, 0, 1 << 40},
		{"lightning_refund.min_credit", int64(p.LightningRefund.MinCredit), 0, 5},
	}
	for _, i := range ints {
		if i.v < i.lo || i.v > i.hi {
			return Errorf(EINVALID, "policy: %s must be between %d and %d, got %d", i.key, i.lo, i.hi, i.v)
		}
	}
	for shop := range p.Shops {
		if err := CheckID("policy: shops key", shop); err != nil {
			return err
		}
	}
	if total := min(p.NoReasonInspectTimeout, p.InspectTimeout) + p.RefundTimeout; total.D() > NoReasonRefundWithin {
		return Errorf(EINVALID, "policy: no_reason_inspect_timeout (%s, or inspect_timeout when shorter) plus refund_timeout (%s) is %s, more than the 7 days within which the law wants a no-reason return refunded from the goods' receipt (消法 §25); shorten one",
			p.NoReasonInspectTimeout, p.RefundTimeout, total)
	}
	return p.ReturnWindows.validate()
}

// NoReasonRefundWithin is how soon after the goods' receipt the law wants a
// no-reason return refunded (消法 §25).
const NoReasonRefundWithin = 7 * day

// deadlineOf is the deadline ticket t starts on entering state s: the state's
// (StateTimeout), but a no-reason return's inspection is bounded by
// no_reason_inspect_timeout too.
func (p Policy) deadlineOf(t Ticket, s State) (name string, d time.Duration, ok bool) {
	name, d, ok = p.StateTimeout(s)
	if s == StateAwaitingInspection && t.ReasonCode == ReasonNoReason && p.NoReasonInspectTimeout > 0 {
		d = min(d, p.NoReasonInspectTimeout.D())
	}
	return name, d, ok
}

// StateTimeout returns the deadline name and duration that run in state s, or
// ok=false for states without a deadline of their own.
func (p Policy) StateTimeout(s State) (name string, d time.Duration, ok bool) {
	switch s {
	case StatePendingReview:
		return "review_by", p.ReviewTimeout.D(), true
	case StateNegotiating:
		return "offer_response_by", p.OfferResponseTimeout.D(), true
	case StateRejected:
		return "appeal_by", p.AppealTimeout.D(), true
	case StateAwaitingPickup:
		return "pickup_by", p.PickupTimeout.D(), true
	case StateAwaitingBuyerShipment:
		return "ship_by", p.BuyerShipTimeout.D(), true
	case StateInTransit:
		return "arrive_by", p.TransitTimeout.D(), true
	case StateAwaitingInspection:
		return "inspect_by", p.InspectTimeout.D(), true
	case StateRefunding:
		return "refund_by", p.RefundTimeout.D(), true
	case StateReplacementShipping:
		return "confirm_by", p.ReplacementConfirmTimeout.D(), true
	case StateRepairing:
		return "repair_by", p.RepairTimeout.D(), true
	case StateEscalated:
		return "evidence_by", p.EvidenceTimeout.D(), true
	case StateRecovering:
		return "recover_by", p.RecoverTimeout.D(), true
	}
	return "", 0, false
}

// String is for logs.
func (p Policy) String() string { return fmt.Sprintf("policy %s", p.Version) }
