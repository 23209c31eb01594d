package api_test

import (
	"strings"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/models"
)

// simLedger reads the simulated provider's own ledger.
type simLedger struct{ sim *payment.Simulator }

// Paid is how many times the provider recorded a payment for key: 0 or 1.
func (l simLedger) Paid(key string) int {
	n := 0
	for _, r := range l.sim.Ledger("") {
		if r.Key == key {
			n++
		}
	}
	return n
}

// Settle decides the provider's answer for key, as the provider would, and returns
// the webhook event that reports it.
func (l simLedger) Settle(t interface{ Fatalf(string, ...any) }, key string, status models.MoneyStatus) models.PaymentEvent {
	ev, err := l.sim.Settle(key, status, "")
	if err != nil {
		t.Fatalf("settle %s: %v", key, err)
	}
	return ev
}

// closedAccount starts the order ids whose refunds the simulated provider
// refuses for good (HTTP 422), as it would for a buyer's closed account.
const closedAccount = "closed-account-"

// manualProviders are the simulators in manual mode: they book and pay, the tests
// post the webhooks.
func manualProviders(url string, courierKeys, paymentKeys webhook.Keys) (activities.Courier, activities.Payment, providerLedger, func()) {
	c := &courier.Simulator{Sender: &webhook.Sender{URL: url, Keys: courierKeys}, Mode: courier.ModeManual}
	p := &payment.Simulator{Sender: &webhook.Sender{URL: url, Keys: paymentKeys}, Mode: payment.ModeManual,
		Refuse: func(purpose models.Purpose, req activities.MoneyRequest) string {
			if strings.HasPrefix(req.OrderID, closedAccount) && purpose == models.PurposeRefund {
				return "the buyer's account is closed"
			}
			return ""
		}}
	return c, p, simLedger{p}, func() { c.Close(); p.Close() }
}

// SettleAgain makes the provider contradict itself for key (a failure that pays
// after all) and returns the webhook event that reports it.
func (l simLedger) SettleAgain(t interface{ Fatalf(string, ...any) }, key string, status models.MoneyStatus) models.PaymentEvent {
	ev, err := l.sim.SettleAgain(key, status, "")
	if err != nil {
		t.Fatalf("settle %s again: %v", key, err)
	}
	return ev
}

// Net is what the provider's own ledger moved to the buyer under keys: refunds
// paid less charge backs taken.
func (l simLedger) Net(keys ...string) int64 {
	var n int64
	for _, r := range l.sim.Ledger("") {
		for _, k := range keys {
			if r.Key != k || r.Status != models.RefundSucceeded {
				continue
			}
			switch r.Purpose {
			case models.PurposeRefund, models.PurposeRepayment:
				n += r.AmountCents
			case models.PurposeRecovery, models.PurposeOverpaid:
				n -= r.AmountCents
			}
		}
	}
	return n
}

// NetByLine is what the provider's own ledger moved to the buyer for each line
// of the order, by the lines each pay call carried: refunds paid less charge
// backs taken.
func (l simLedger) NetByLine(orderID string) map[string]int64 {
	out := map[string]int64{}
	for _, r := range l.sim.Ledger("") {
		if r.OrderID != orderID || r.Status != models.RefundSucceeded {
			continue
		}
		sign := int64(0)
		switch r.Purpose {
		case models.PurposeRefund, models.PurposeRepayment:
			sign = 1
		case models.PurposeRecovery, models.PurposeOverpaid:
			sign = -1
		}
		for _, line := range r.Lines {
			out[line.SKU] += sign * line.Cents
		}
	}
	return out
}
