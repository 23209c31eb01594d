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

	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/activities/webhook"
)

// runProviders runs the simulated payment provider as a process of its own, as
// the production topology has it (no provider lives inside a worker): it serves
// the payment provider protocol of activities/payment/doc.go at --http, keeps its
// ledger in --ledger-file (a payment it accepted and had not settled is settled
// after a restart), and calls the API's payment webhook, signed with the
// payment provider's secret, retrying until the API acknowledges it. Workers
// reach it with --payment http --payment-url http://ADDR --payment-key KEY; the
// flags share their names with the worker's and the API's, so one environment
// configures all three.
func runProviders(ctx context.Context, args []string) error {
	return serveProviders(ctx, args, nil)
}

// serveProviders is runProviders; listening, when set, is told the address.
func serveProviders(ctx context.Context, args []string, listening func(net.Addr)) error {
	fs := flag.NewFlagSet("providers", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:8090", "where the payment provider's API listens")
	apiKey := fs.String("payment-key", "", "the API key callers send as Authorization: Bearer (the workers' --payment-key)")
	ledger := fs.String("ledger-file", "payment-provider.json", "the provider's own ledger, kept across restarts")
	webhookURL := fs.String("webhook-url", "http://127.0.0.1:8080", "the aftersales API's base URL, where the payment webhook is posted")
	secretFile := fs.String("payment-webhook-secret-file", "", "the payment provider's webhook secret: whsec_ keys, one per line (the API's file)")
	delay := fs.Duration("sim-delay", 2*time.Second, "how long a payment takes before its result is posted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *apiKey == "" || *secretFile == "" {
		return fmt.Errorf("set --payment-key and --payment-webhook-secret-file (or AFTERSALES_PAYMENT_KEY, AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE)")
	}
	keys, err := webhook.LoadKeys(*secretFile, false)
	if err != nil {
		return fmt.Errorf("--payment-webhook-secret-file: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	sim := &payment.Simulator{Mode: payment.ModeAuto, Delay: *delay, Log: logger, LedgerFile: *ledger,
		Sender: &webhook.Sender{URL: *webhookURL, Keys: keys, Tries: math.MaxInt}}
	defer func() { _ = sim.Close() }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/", sim.API(*apiKey))
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *addr, err)
	}
	logger.Info("payment provider listening", "addr", l.Addr().String(), "ledger", *ledger, "webhook_url", *webhookURL)
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
