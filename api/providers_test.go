package api_test

import (
	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
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

// manualProviders are the simulators in manual mode: they book and pay, the tests
// post the webhooks.
func manualProviders(url string, secret []byte) (activities.Courier, activities.Payment, providerLedger, func()) {
	sender := &webhook.Sender{URL: url, Secret: secret}
	c := &courier.Simulator{Sender: sender, Mode: courier.ModeManual}
	p := &payment.Simulator{Sender: sender, Mode: payment.ModeManual}
	return c, p, simLedger{p}, func() { c.Close(); p.Close() }
}
