package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/providersim"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// Simulator modes.
const (
	ModeAuto   = "auto"   // the simulator settles payments and posts the webhook after Delay
	ModeManual = "manual" // payments stay "sent"; the caller settles them (Settle) and posts webhooks
)

// DefaultDelay is the simulated provider's pace when Simulator.Delay is zero.
const DefaultDelay = 2 * time.Second

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("payment simulator: closed")

var _ activities.Payment = (*Simulator)(nil)

// Record is one entry of the simulator's ledger: one money movement per key.
type Record struct {
	Key         string             `json:"key"`
	TicketID    string             `json:"ticket_id"`
	OrderID     string             `json:"order_id"`
	Purpose     models.Purpose     `json:"purpose"`
	AmountCents int64              `json:"amount_cents"`
	Currency    string             `json:"currency"`
	Status      models.MoneyStatus `json:"status"` // sent | succeeded | failed
	ProviderRef string             `json:"provider_ref"`
	Reason      string             `json:"reason,omitempty"`
	Calls       int                `json:"calls"` // pay calls made with this key (the first included)
	// Lines is the order lines the movement was for, as the pay call gave them.
	Lines []models.LineCents `json:"lines,omitempty"`
}

func (r *Record) receipt() activities.Receipt {
	return activities.Receipt{Key: r.Key, Status: r.Status, ProviderRef: r.ProviderRef, Reason: r.Reason}
}

// Simulator is an in-process payment provider with its own ledger keyed by the
// idempotency key. The first pay call (Refund, Compensate, ChargeRecovery,
// ClaimFreightInsurance) for a key records the movement with status "sent" and counts
// one payment; a repeated call with the same key pays nothing and answers the same
// receipt (a repeat with another ticket, purpose, amount or currency is refused). In
// auto mode the payment settles after Delay: it succeeds, or fails when the FailRate
// fault fires, and the result is posted to WebhookPath through Sender. Configure the
// exported fields before the first call; Close stops pending settlements. Pending and
// Wait tell what is still to settle.
type Simulator struct {
	Sender *webhook.Sender // where results go; nothing is sent when nil
	Mode   string          // ModeAuto (default when empty) or ModeManual
	Delay  time.Duration   // time from payment to result; DefaultDelay when zero
	Faults Faults          // injected misbehaviour, all off by default
	Log    *slog.Logger    // slog.Default() when nil
	// LedgerFile, when set, keeps the ledger across restarts like a real provider's:
	// it is read at the first call and rewritten after every change.
	LedgerFile string
	// Refuse names the movements the provider will not pay (a closed account, an
	// amount above the charge, an expired window): a non-empty reason refuses the
	// call as a real provider's API does, with HTTP 422, and records nothing.
	Refuse func(purpose models.Purpose, req activities.MoneyRequest) (reason string)

	jobs providersim.Jobs // the goroutines of pending settlements

	once     sync.Once
	mu       sync.Mutex
	records  map[string]*Record
	payments int
}

func (s *Simulator) init() {
	s.once.Do(func() {
		s.records = map[string]*Record{}
		s.load()
	})
}

// Refund pays req back to the buyer, once per key.
func (s *Simulator) Refund(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return s.pay(ctx, models.PurposeRefund, req)
}

// Compensate pays the buyer a compensation, once per key.
func (s *Simulator) Compensate(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return s.pay(ctx, models.PurposeCompensate, req)
}

// ChargeRecovery charges a lightning refund back, once per key.
func (s *Simulator) ChargeRecovery(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	if req.Purpose == models.PurposeExchangeCharge {
		return s.pay(ctx, req.Purpose, req) // the exchange difference keeps its purpose in the ledger
	}
	return s.pay(ctx, models.PurposeRecovery, req)
}

// ClaimFreightInsurance claims the buyer's return freight, once per key.
func (s *Simulator) ClaimFreightInsurance(ctx context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return s.pay(ctx, models.PurposeFreight, req)
}

// Lookup returns the receipt of key, or found=false when the simulator never paid it.
func (s *Simulator) Lookup(ctx context.Context, key string) (activities.Receipt, bool, error) {
	if err := s.Faults.before(ctx, key); err != nil {
		return activities.Receipt{}, false, err
	}
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[key]; r != nil {
		return r.receipt(), true, nil
	}
	return activities.Receipt{Key: key}, false, nil
}

// Payments counts the payments actually made: one per key, however many calls.
func (s *Simulator) Payments() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payments
}

// Pending is how many payments are still to settle in auto mode: their result is not
// yet posted (nor stopped by Close).
func (s *Simulator) Pending() int { return s.jobs.Running() }

// Wait blocks until every settlement scheduled so far is done and its webhook sent, or
// the simulator closed. With the default Delay that takes seconds; tests use it to
// know that no further webhook is coming.
func (s *Simulator) Wait() { s.jobs.Wait() }

// Close stops pending settlements and waits for their goroutines. Later calls fail
// with ErrClosed. Close is idempotent.
func (s *Simulator) Close() error {
	s.jobs.Close()
	return nil
}

func (s *Simulator) pay(ctx context.Context, purpose models.Purpose, req activities.MoneyRequest) (activities.Receipt, error) {
	switch {
	case req.Key == "" || req.TicketID == "":
		return activities.Receipt{}, fmt.Errorf("payment simulator: key and ticket_id are required")
	case req.AmountCents <= 0 || req.Currency == "":
		return activities.Receipt{}, fmt.Errorf("payment simulator: %s: amount_cents must be positive and currency set", req.Key)
	}
	if len(req.Lines) > 0 {
		var sum int64
		for _, l := range req.Lines {
			sum += l.Cents
		}
		if sum != req.AmountCents {
			return activities.Receipt{}, &providerapi.Error{API: "payment", Method: "POST", Path: "/" + string(purpose),
				Status: http.StatusUnprocessableEntity, Body: fmt.Sprintf(`{"error":"the lines sum to %d, the amount is %d"}`, sum, req.AmountCents)}
		}
	}
	if err := s.Faults.before(ctx, req.Key); err != nil {
		return activities.Receipt{}, err
	}
	if s.Refuse != nil {
		if why := s.Refuse(purpose, req); why != "" {
			return activities.Receipt{}, &providerapi.Error{API: "payment", Method: "POST", Path: "/" + string(purpose),
				Status: http.StatusUnprocessableEntity, Body: `{"error":"` + why + `"}`}
		}
	}
	s.init()
	s.mu.Lock()
	if s.jobs.Closed() {
		s.mu.Unlock()
		return activities.Receipt{}, ErrClosed
	}
	r := s.records[req.Key]
	if r == nil {
		r = &Record{Key: req.Key, TicketID: req.TicketID, OrderID: req.OrderID, Purpose: purpose,
			AmountCents: req.AmountCents, Currency: req.Currency, Status: models.RefundSent,
			ProviderRef: "SIMPAY-" + providersim.RandomHex(8), Lines: req.Lines}
		s.records[req.Key] = r
		s.payments++
		s.schedule(r)
		s.save()
	} else if r.TicketID != req.TicketID || r.Purpose != purpose || r.AmountCents != req.AmountCents || r.Currency != req.Currency {
		s.mu.Unlock()
		return activities.Receipt{}, models.Errorf(models.ECONFLICT,
			"payment simulator: key %s was already used for %s %d %s of ticket %s", r.Key, r.Purpose, r.AmountCents, r.Currency, r.TicketID)
	}
	r.Calls++
	answer := r.receipt()
	s.mu.Unlock()
	if s.Faults.roll(s.Faults.LoseAnswerRate) {
		return activities.Receipt{}, ErrAnswerLost
	}
	return answer, nil
}
