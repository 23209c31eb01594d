package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
)

// runProviders runs the simulated courier and payment provider as a process of
// their own, as the production topology has it (no provider lives inside a
// worker): it serves the courier protocol (activities/courier/doc.go) under
// /courier and the payment protocol (activities/payment/doc.go) under /payment
// at --http, keeps each provider's ledger in a file (a visit or a payment it had
// not finished is finished after a restart), and posts each provider's events to
// the API's webhook signed with that provider's secret, retrying until the API
// acknowledges them. Workers reach it with --courier http --courier-url
// http://ADDR/courier and --payment http --payment-url http://ADDR/payment; the
// flags share their names with the worker's and the API's, so one environment
// configures all three.
func runProviders(ctx context.Context, args []string) error {
	return serveProviders(ctx, args, nil)
}

// serveProviders is runProviders; listening, when set, is told the address.
func serveProviders(ctx context.Context, args []string, listening func(net.Addr)) error {
	fs := flag.NewFlagSet("providers", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:8090", "where the providers' APIs listen (/courier and /payment)")
	courierKey := fs.String("courier-key", "", "the API key callers send the courier as Authorization: Bearer (the workers' --courier-key)")
	paymentKey := fs.String("payment-key", "", "the API key callers send the payment provider as Authorization: Bearer (the workers' --payment-key)")
	courierLedger := fs.String("courier-ledger-file", "courier-provider.json", "the courier's own ledger, kept across restarts")
	paymentLedger := fs.String("payment-ledger-file", "payment-provider.json", "the payment provider's own ledger, kept across restarts")
	webhookURL := fs.String("webhook-url", "http://127.0.0.1:8080", "the aftersales API's base URL, where the webhooks are posted")
	courierSecret := fs.String("courier-webhook-secret-file", "", "the courier's webhook secret: whsec_ keys, one per line (the API's file)")
	paymentSecret := fs.String("payment-webhook-secret-file", "", "the payment provider's webhook secret: whsec_ keys, one per line (the API's file)")
	delay := fs.Duration("sim-delay", 2*time.Second, "how long a visit or a payment takes before each of its events is posted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *courierKey == "" || *paymentKey == "" || *courierSecret == "" || *paymentSecret == "" {
		return fmt.Errorf("set --courier-key, --payment-key, --courier-webhook-secret-file and --payment-webhook-secret-file " +
			"(or AFTERSALES_COURIER_KEY, AFTERSALES_PAYMENT_KEY, AFTERSALES_COURIER_WEBHOOK_SECRET_FILE, AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE)")
	}
	secrets, err := loadWebhookSecrets(*courierSecret, *paymentSecret, false)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	pay := &payment.Simulator{Mode: payment.ModeAuto, Delay: *delay, Log: logger, LedgerFile: *paymentLedger,
		Sender: &webhook.Sender{URL: *webhookURL, Keys: secrets.payment, Tries: math.MaxInt}}
	defer func() { _ = pay.Close() }()
	cou := &courier.Simulator{Mode: courier.ModeAuto, Delay: *delay, Log: logger, LedgerFile: *courierLedger,
		Sender: &webhook.Sender{URL: *webhookURL, Keys: secrets.courier, Tries: math.MaxInt}}
	defer func() { _ = cou.Close() }()
	// Both ledgers are read now: what was pending is sent again without waiting
	// for a call (after a restart no call may come: every ticket waits on its event).
	cou.Bookings("")
	pay.Ledger("")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/courier/", http.StripPrefix("/courier", cou.API(*courierKey)))
	mux.Handle("/payment/", http.StripPrefix("/payment", pay.API(*paymentKey)))
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *addr, err)
	}
	logger.Info("providers listening", "courier", "http://"+l.Addr().String()+"/courier", "payment", "http://"+l.Addr().String()+"/payment",
		"webhook_url", *webhookURL)
	if listening != nil {
		listening(l.Addr())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	stopped := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stopped()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
