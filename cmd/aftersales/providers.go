package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
)

// providerFlags choose the courier and payment adapters: the simulators (dev,
// demos, tests) or the HTTP adapters of a real provider.
type providerFlags struct {
	courier, payment       string
	courierURL, courierKey string
	paymentURL, paymentKey string
	sim                    string
	simDelay               time.Duration
	webhookURL             string
	faults                 simFaults
	// simLedgerFile keeps the simulated payment provider's ledger across restarts.
	simLedgerFile string
	// simPayments is the simulated payment ledger's handler, when it runs.
	simPayments http.Handler
	// injected providers replace the built ones (tests keep a provider alive
	// across restarts of the runtime, as a real one would be).
	injectedCourier activities.Courier
	injectedPayment activities.Payment
}

func (p *providerFlags) registerSim(fs *flag.FlagSet) {
	p.courier, p.payment = "sim", "sim"
	fs.StringVar(&p.sim, "sim", "auto", "simulated providers: auto (they call our webhooks after --sim-delay) or manual (you post the webhooks)")
	fs.DurationVar(&p.simDelay, "sim-delay", 2*time.Second, "how long the simulated courier and payment provider take before calling back")
	fs.Var(&p.faults, "sim-faults", "faults the simulated providers inject, e.g. error=0.3,lose=0.1,duplicate=0.2,fail=0.1,reorder")
}

func (p *providerFlags) register(fs *flag.FlagSet) {
	p.registerSim(fs)
	fs.StringVar(&p.courier, "courier", "sim", "courier adapter: sim or http")
	fs.StringVar(&p.courierURL, "courier-url", "", "courier provider API base URL (with --courier http)")
	fs.StringVar(&p.courierKey, "courier-key", "", "courier provider API key")
	fs.StringVar(&p.payment, "payment", "sim", "payment adapter: sim or http")
	fs.StringVar(&p.paymentURL, "payment-url", "", "payment provider API base URL (with --payment http)")
	fs.StringVar(&p.paymentKey, "payment-key", "", "payment provider API key")
	fs.StringVar(&p.webhookURL, "webhook-url", "http://127.0.0.1:8080", "where the simulators send webhooks: the API's base URL")
}

// build returns the chosen adapters and a function that stops them.
func (p *providerFlags) build(secrets webhookSecrets, logger *slog.Logger) (activities.Courier, activities.Payment, func(), error) {
	if p.sim != courier.ModeAuto && p.sim != courier.ModeManual {
		return nil, nil, nil, fmt.Errorf("--sim must be auto or manual, not %q", p.sim)
	}
	if p.injectedCourier != nil && p.injectedPayment != nil {
		return p.injectedCourier, p.injectedPayment, func() {}, nil
	}
	// Each simulator signs with its own provider's keys, as the real ones would.
	if p.courier == "sim" && secrets.courier.Empty() {
		return nil, nil, nil, fmt.Errorf("the simulated courier signs its webhooks: set --courier-webhook-secret-file")
	}
	if p.payment == "sim" && secrets.payment.Empty() {
		return nil, nil, nil, fmt.Errorf("the simulated payment provider signs its webhooks: set --payment-webhook-secret-file")
	}
	var (
		c       activities.Courier
		pay     activities.Payment
		closers []func() error
	)
	switch p.courier {
	case "sim":
		sim := &courier.Simulator{Sender: &webhook.Sender{URL: p.webhookURL, Keys: secrets.courier}, Mode: p.sim, Delay: p.simDelay, Log: logger}
		p.faults.applyCourier(sim)
		c, closers = sim, append(closers, sim.Close)
	case "http":
		if p.courierURL == "" {
			return nil, nil, nil, fmt.Errorf("--courier http needs --courier-url")
		}
		c = &courier.HTTP{BaseURL: p.courierURL, APIKey: p.courierKey}
	default:
		return nil, nil, nil, fmt.Errorf("--courier must be sim or http, not %q", p.courier)
	}
	switch p.payment {
	case "sim":
		sim := &payment.Simulator{Sender: &webhook.Sender{URL: p.webhookURL, Keys: secrets.payment}, Mode: p.sim, Delay: p.simDelay, Log: logger, LedgerFile: p.simLedgerFile}
		p.faults.applyPayment(sim)
		pay, closers, p.simPayments = sim, append(closers, sim.Close), sim
	case "http":
		if p.paymentURL == "" {
			return nil, nil, nil, fmt.Errorf("--payment http needs --payment-url")
		}
		pay = &payment.HTTP{BaseURL: p.paymentURL, APIKey: p.paymentKey}
	default:
		return nil, nil, nil, fmt.Errorf("--payment must be sim or http, not %q", p.payment)
	}
	return c, pay, func() {
		for _, close := range closers {
			_ = close()
		}
	}, nil
}
