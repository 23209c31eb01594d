package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/worker"
)

// commonFlags are shared by `api` and `worker`.
type commonFlags struct {
	temporal      temporalFlags
	databaseURL   string
	policyFile    string
	courierSecret string
	paymentSecret string
	migrate       bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	c.temporal.register(fs)
	fs.StringVar(&c.databaseURL, "database-url", "", "mysql://user:pass@tcp(host:3306)/db?parseTime=true or sqlite:PATH")
	fs.StringVar(&c.policyFile, "policy", "", "policy YAML file (default: the built-in policy)")
	fs.StringVar(&c.courierSecret, "courier-webhook-secret-file", "", "the courier's webhook secret: whsec_ keys, one per line")
	fs.StringVar(&c.paymentSecret, "payment-webhook-secret-file", "", "the payment provider's webhook secret: whsec_ keys, one per line")
	fs.BoolVar(&c.migrate, "migrate", false, "apply pending schema migrations at start")
}

// register adds the flags that reach a Temporal cluster.
func (t *temporalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.address, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&t.namespace, "temporal-namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&t.apiKey, "temporal-api-key", os.Getenv("TEMPORAL_API_KEY"), "Temporal Cloud API key (env TEMPORAL_API_KEY)")
	fs.BoolVar(&t.tls, "temporal-tls", false, "connect to Temporal over TLS")
	fs.StringVar(&t.tlsCert, "temporal-tls-cert", os.Getenv("TEMPORAL_TLS_CERT"), "mTLS client certificate file (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&t.tlsKey, "temporal-tls-key", os.Getenv("TEMPORAL_TLS_KEY"), "mTLS client key file (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&t.tlsCA, "temporal-tls-ca", os.Getenv("TEMPORAL_TLS_CA"), "CA bundle for the Temporal server (env TEMPORAL_TLS_CA)")
}

// connect opens the database (migrating it when asked) and dials Temporal.
func (c *commonFlags) connect(ctx context.Context, logger *slog.Logger, reg *prometheus.Registry) (*store.DB, client.Client, func(), error) {
	db, err := openStore(ctx, c.databaseURL, c.migrate)
	if err != nil {
		return nil, nil, nil, err
	}
	tc, err := dialTemporal(c.temporal, logger, reg)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, tc, func() { tc.Close(); db.Close() }, nil
}

// runAPI serves the HTTP API against an external Temporal and database.
func runAPI(ctx context.Context, args []string) error { return serveAPI(ctx, args, nil) }

// serveAPI is runAPI; listening, when not nil, is told the bound address once the
// listener is up (with --http on port 0 that is how a caller learns the port).
func serveAPI(ctx context.Context, args []string, listening func(net.Addr)) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	addr := fs.String("http", "0.0.0.0:8080", "listen address")
	keysFile := fs.String("keys", "", "API keys file: JSON list of {key, role, subject}")
	var af apiFlags
	af.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.databaseURL == "" || *keysFile == "" || c.courierSecret == "" || c.paymentSecret == "" {
		return fmt.Errorf("set --database-url, --keys, --courier-webhook-secret-file and --payment-webhook-secret-file (or AFTERSALES_DATABASE_URL, AFTERSALES_KEYS, AFTERSALES_COURIER_WEBHOOK_SECRET_FILE, AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE)")
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	policy, err := loadPolicy(c.policyFile)
	if err != nil {
		return err
	}
	keys, err := api.LoadKeys(*keysFile)
	if err != nil {
		return err
	}
	secrets, err := loadWebhookSecrets(c.courierSecret, c.paymentSecret, false)
	if err != nil {
		return err
	}
	reg := newRegistry()
	db, tc, closeAll, err := c.connect(ctx, logger, reg)
	if err != nil {
		return err
	}
	defer closeAll()
	cfg := api.Config{Temporal: tc, Namespace: c.temporal.namespace, Store: db, Keys: keys, Policy: policy,
		CourierWebhookKeys: secrets.courier, PaymentWebhookKeys: secrets.payment, Logger: logger}
	af.apply(&cfg)
	cfg.Registry = reg
	srv := api.New(cfg)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *addr, err)
	}
	logger.Info("api listening", "addr", l.Addr().String(), "policy", policy.Version)
	if listening != nil {
		listening(l.Addr())
	}
	return srv.Serve(ctx, l)
}

// runWorker runs the workflows and activities against an external Temporal.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	var pf providerFlags
	pf.register(fs)
	metricsAddr := fs.String("metrics-addr", "", "serve the worker's Prometheus metrics (Temporal SDK, workflows' deadlines fired, Go runtime) at http://ADDR/metrics; off when empty")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.databaseURL == "" {
		return fmt.Errorf("set --database-url or AFTERSALES_DATABASE_URL")
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	reg := newRegistry()
	db, tc, closeAll, err := c.connect(ctx, logger, reg)
	if err != nil {
		return err
	}
	defer closeAll()
	if *metricsAddr != "" {
		l, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", *metricsAddr, err)
		}
		ms := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = ms.Serve(l) }()
		defer ms.Close()
	}
	var secrets webhookSecrets
	if pf.courier == "sim" && c.courierSecret != "" {
		if secrets.courier, err = webhook.LoadKeys(c.courierSecret, false); err != nil {
			return err
		}
	}
	if pf.payment == "sim" && c.paymentSecret != "" {
		if secrets.payment, err = webhook.LoadKeys(c.paymentSecret, false); err != nil {
			return err
		}
	}
	courier, payment, closeProviders, err := pf.build(secrets, logger)
	if err != nil {
		return err
	}
	defer closeProviders()
	w := worker.New(tc, &activities.Activities{Store: db, Ledger: db, Parcels: db, Courier: courier, Payment: payment})
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	logger.Info("worker started", "namespace", c.temporal.namespace, "courier", pf.courier, "payment", pf.payment)
	<-ctx.Done()
	w.Stop()
	return nil
}
