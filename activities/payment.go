package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// Payment moves money at the payment provider. Every call carries the idempotency key
// of the movement; the provider pays a key at most once and reports the result later
// through the payment webhook.
type Payment interface {
	Refund(ctx context.Context, req MoneyRequest) (Receipt, error)
	Compensate(ctx context.Context, req MoneyRequest) (Receipt, error)
	ChargeRecovery(ctx context.Context, req MoneyRequest) (Receipt, error)
	ClaimFreightInsurance(ctx context.Context, req MoneyRequest) (Receipt, error)
	// Lookup returns what the provider knows of key; found is false when it never saw it.
	Lookup(ctx context.Context, key string) (r Receipt, found bool, err error)
}

// RefundLedger is the refunds table: one row per key, written before the provider call.
type RefundLedger interface {
	ReserveRefund(ctx context.Context, r store.RefundReservation) (models.RefundRow, error)
	MarkRefund(ctx context.Context, key string, status models.MoneyStatus, providerRef string) (models.RefundRow, error)
}

// MoneyRequest is one money movement.
type MoneyRequest struct {
	Key      string         `json:"key"`
	Purpose  models.Purpose `json:"purpose"`
	TicketID string         `json:"ticket_id"`
	// ShopID and OrderID name the order (DESIGN §2 Trust); a request from before
	// orders were keyed by shop has no ShopID, and the ledger finds it.
	ShopID      string `json:"shop_id,omitempty"`
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	PaidCents   int64  `json:"paid_cents"`
	// Retry: an attempt before this one (the workflow's local first attempt) may
	// have reached the provider, as a retried attempt may.
	Retry bool `json:"retry,omitempty"`
	// Lines is the order lines the movement pays or charges back, summing to
	// AmountCents (as Alipay's refund takes goods detail); absent for a ticket
	// without lines and for money that pays for no line.
	Lines []models.LineCents `json:"lines,omitempty"`
}

// Receipt is the provider's answer: sent (accepted, result to come by webhook),
// succeeded or failed.
type Receipt struct {
	Key         string             `json:"key"`
	Status      models.MoneyStatus `json:"status"`
	ProviderRef string             `json:"provider_ref,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	// OrderOverCents is the ledger's word that this key, paying after its room
	// was given back, took its order over what was paid (models.RefundRow).
	OrderOverCents int64 `json:"order_over_cents,omitempty"`
}

// MoveMoney pays req exactly once. The ledger row is reserved first (which also
// enforces the per-order cap across tickets); a retried attempt, a row an earlier
// attempt reserved (a local attempt that ran again after its worker died), or a
// row already sent, asks the provider by key before calling it again, so an answer
// lost after the provider acted is reconciled instead of paid twice.
func (a *Activities) MoveMoney(ctx context.Context, req MoneyRequest) (Receipt, error) {
	row, err := a.Ledger.ReserveRefund(ctx, store.RefundReservation{
		Key: req.Key, TicketID: req.TicketID, ShopID: req.ShopID, OrderID: req.OrderID, AmountCents: req.AmountCents,
		Currency: req.Currency, Purpose: req.Purpose, PaidCents: req.PaidCents, Lines: req.Lines,
	})
	if models.ErrorCode(err) == models.ECONFLICT || models.ErrorCode(err) == models.EINVALID {
		return Receipt{}, temporal.NewNonRetryableApplicationError(models.ErrorMessage(err), models.ErrorCode(err), err)
	} else if err != nil {
		return Receipt{}, err
	}
	switch row.Status {
	case models.RefundSucceeded, models.RefundFailed:
		return Receipt{Key: req.Key, Status: row.Status, ProviderRef: row.ProviderRef, OrderOverCents: row.OrderOverCents}, nil
	case models.RefundVoid:
		// Refused before (a final refusal, or the ledger's cap): the same answer.
		return Receipt{}, temporal.NewNonRetryableApplicationError("the key is void: "+req.Key, models.RefusedByProvider, nil)
	}
	if row.Status == models.RefundSent || !row.Reserved || req.Retry || activity.GetInfo(ctx).Attempt > 1 {
		r, found, err := a.Payment.Lookup(ctx, req.Key)
		if err != nil {
			return Receipt{}, final(err)
		}
		if found {
			return a.record(ctx, r)
		}
	}
	r, err := a.pay(ctx, req)
	if err = final(err); isRefusal(err) {
		// The provider will not pay this key, ever: the ledger gives its room
		// back now, as the ticket voids it (models.RefusedByProvider).
		if _, merr := a.Ledger.MarkRefund(ctx, req.Key, models.RefundVoid, ""); merr != nil {
			return Receipt{}, merr
		}
		return Receipt{}, err
	} else if err != nil {
		return Receipt{}, err
	}
	return a.record(ctx, r)
}

// ReconcileMoney records in the ledger the status of key the platform read in
// the provider's console (the reconcile action): succeeded or void, by the one
// status rule (statuses only rise). The answer carries the ledger's word on the
// order (Receipt.OrderOverCents).
func (a *Activities) ReconcileMoney(ctx context.Context, key string, status models.MoneyStatus) (Receipt, error) {
	row, err := a.Ledger.MarkRefund(ctx, key, status, "")
	if models.ErrorCode(err) == models.EINVALID || models.ErrorCode(err) == models.ENOTFOUND {
		return Receipt{}, temporal.NewNonRetryableApplicationError(models.ErrorMessage(err), models.ErrorCode(err), err)
	} else if err != nil {
		return Receipt{}, err
	}
	return Receipt{Key: key, Status: row.Status, ProviderRef: row.ProviderRef, OrderOverCents: row.OrderOverCents}, nil
}

// LookupMoney asks the provider for the state of key and records it in the
// ledger. A failure the provider confirms when asked is final (the key did not
// and will not pay): the ledger marks it void, as the ticket does (models.Decide),
// and the answer still says failed, which is what the provider said (of a key
// the ledger holds as paid the void changes nothing: whether that is a reversal
// the ticket decides, and records by ReconcileMoney).
func (a *Activities) LookupMoney(ctx context.Context, key string) (Receipt, error) {
	r, found, err := a.Payment.Lookup(ctx, key)
	if err != nil || !found {
		return Receipt{Key: key}, final(err)
	}
	switch r.Status {
	case models.RefundFailed:
		if _, err := a.Ledger.MarkRefund(ctx, r.Key, models.RefundVoid, r.ProviderRef); err != nil {
			return Receipt{}, err
		}
	case models.RefundSucceeded:
		row, err := a.Ledger.MarkRefund(ctx, r.Key, models.RefundSucceeded, r.ProviderRef)
		if err != nil {
			return Receipt{}, err
		}
		r.OrderOverCents = row.OrderOverCents
	}
	// The answer is the provider's, not the ledger's: a key the ledger holds as
	// failed (its webhook said so) that the provider still pays is in flight.
	return r, nil
}

func (a *Activities) pay(ctx context.Context, req MoneyRequest) (Receipt, error) {
	switch req.Purpose {
	case models.PurposeCompensate:
		return a.Payment.Compensate(ctx, req)
	case models.PurposeRecovery, models.PurposeOverpaid, models.PurposeExchangeCharge:
		return a.Payment.ChargeRecovery(ctx, req) // every charge to the buyer's means of payment
	case models.PurposeFreight:
		return a.Payment.ClaimFreightInsurance(ctx, req)
	}
	return a.Payment.Refund(ctx, req)
}

func (a *Activities) record(ctx context.Context, r Receipt) (Receipt, error) {
	status := r.Status
	if status == "" {
		status = models.RefundSent
	}
	row, err := a.Ledger.MarkRefund(ctx, r.Key, status, r.ProviderRef)
	if err != nil {
		return Receipt{}, err
	}
	r.Status, r.OrderOverCents = row.Status, row.OrderOverCents
	return r, nil
}
