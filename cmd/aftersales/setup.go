package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/aftersales/aftersales/activities/ordersource"
	"github.com/aftersales/aftersales/activities/webhook"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/worker"
)

// loadPolicy reads the policy file, or returns the built-in policy for "".
func loadPolicy(path string) (models.Policy, error) {
	if path == "" {
		return models.DefaultPolicy(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return models.Policy{}, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	p, err := models.LoadPolicy(f)
	if err != nil {
		return p, fmt.Errorf("policy file %s: %s", path, models.ErrorMessage(err))
	}
	return p, nil
}

// openStore opens the read model and brings its schema up to date.
func openStore(ctx context.Context, url string, migrate bool) (*store.DB, error) {
	db, err := store.Open(url)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(url), err)
	}
	if migrate {
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("database %s: migrate: %w", redact(url), err)
		}
	}
	return db, nil
}

// redact hides the password of a database URL in messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	colon := strings.Index(url, "://")
	if at < 0 || colon < 0 {
		return url
	}
	userinfo := url[colon+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:colon+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// demoKeys writes a keys file with one key per role for `aftersales dev`, unless
// one exists, and returns its entries.
func demoKeys(path string) ([]api.Key, error) {
	if raw, err := os.ReadFile(path); err == nil {
		var keys []api.Key
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, fmt.Errorf("keys file %s: %w", path, err)
		}
		return keys, nil
	}
	keys := []api.Key{
		{Key: "buyer-" + randomHex(12), Role: models.RoleBuyer, Subject: "buyer-1"},
		{Key: "seller-" + randomHex(12), Role: models.RoleSeller, Subject: "shop-1"},
		{Key: "platform-" + randomHex(12), Role: models.RolePlatform, Subject: "agent-1"},
		{Key: "admin-" + randomHex(12), Role: models.RoleAdmin, Subject: "admin"},
	}
	raw, _ := json.MarshalIndent(keys, "", "  ")
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	return keys, nil
}

// apiFlags are the API's own settings, shared by `api` and `dev`: a shop's order
// system for orders nobody registered with PUT /v1/orders/{order_id}
// (activities/ordersource), and the per-principal rate limit.
type apiFlags struct {
	orderSourceURL, orderSourceKey string
	rateLimit                      float64
	rateBurst                      int
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.orderSourceURL, "order-source-url", "", "a shop order system's base URL to read unregistered orders from (default: registered orders only)")
	fs.StringVar(&a.orderSourceKey, "order-source-key", "", "bearer key for --order-source-url")
	fs.Float64Var(&a.rateLimit, "rate-limit", api.DefaultRateLimit, "requests a second each API key's principal may send, sustained")
	fs.IntVar(&a.rateBurst, "rate-burst", api.DefaultRateBurst, "requests each principal may send at once")
}

// apply sets the API's config from the flags.
func (a apiFlags) apply(cfg *api.Config) {
	if a.orderSourceURL != "" {
		cfg.Orders = &ordersource.HTTP{BaseURL: a.orderSourceURL, APIKey: a.orderSourceKey}
	}
	cfg.RateLimit, cfg.RateBurst = rate.Limit(a.rateLimit), a.rateBurst
}

// newRegistry is the process's Prometheus registry: Go runtime and process
// figures (memory, CPU) here, the Temporal SDK's and the API's own added by
// dialTemporal and api.New.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// webhookSecrets are the providers' whsec_ keys, one secret file each
// (DESIGN §4): a courier's key cannot sign a payment event.
type webhookSecrets struct {
	courier, payment webhook.Keys
}

// loadWebhookSecrets reads both files; with create (the dev runtime) a missing
// file is written with a new key.
func loadWebhookSecrets(courierFile, paymentFile string, create bool) (webhookSecrets, error) {
	var s webhookSecrets
	var err error
	if s.courier, err = webhook.LoadKeys(courierFile, create); err != nil {
		return s, fmt.Errorf("courier %w", err)
	}
	if s.payment, err = webhook.LoadKeys(paymentFile, create); err != nil {
		return s, fmt.Errorf("payment %w", err)
	}
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// temporalFlags is how the api and worker reach a Temporal cluster.
type temporalFlags struct {
	address, namespace, apiKey, tlsCert, tlsKey, tlsCA string
	tls                                                bool
	// loopback: the server runs in this process (dev); compressing every call,
	// the SDK's default for a network, would only spend CPU.
	loopback bool
}

// dialTemporal connects to the cluster with optional mTLS or an API key.
func dialTemporal(f temporalFlags, logger *slog.Logger, reg *prometheus.Registry) (client.Client, error) {
	opts := client.Options{HostPort: f.address, Namespace: f.namespace, Logger: sdklog.NewStructuredLogger(logger),
		MetricsHandler: worker.PrometheusMetrics(reg)}
	if f.tls || f.apiKey != "" || f.tlsCert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
			if err != nil {
				return nil, fmt.Errorf("temporal TLS client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		if f.tlsCA != "" {
			pem, err := os.ReadFile(f.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("temporal TLS CA: %w", err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			cfg.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = cfg
	}
	if f.apiKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(f.apiKey)
	}
	if f.loopback {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal at %s (namespace %s): %w", f.address, f.namespace, err)
	}
	return c, nil
}
