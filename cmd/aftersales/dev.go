package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/devserver"
	"github.com/aftersales/aftersales/worker"
	"github.com/aftersales/aftersales/workflows"
)

// devFlags are the flags of `aftersales dev` (DESIGN.md §4a).
type devFlags struct {
	dataDir      string
	http         string
	temporalPort int
	uiPort       int
	policyFile   string
	keysFile     string
	providers    providerFlags
	api          apiFlags
	quiet        bool
	// extend, when set, adds to the runtime before the API serves (aftersales
	// bench mounts the floor's routes and starts its worker).
	extend func(e *echo.Echo, tc client.Client) error
}

func (d *devFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", ".aftersales", "where the Temporal database, the read model, the keys and the webhook secret live")
	fs.StringVar(&d.http, "http", "127.0.0.1:8080", "API listen address")
	fs.IntVar(&d.temporalPort, "temporal-port", 7233, "embedded Temporal frontend (gRPC) port")
	fs.IntVar(&d.uiPort, "ui-port", 8233, "Temporal Web UI port")
	fs.StringVar(&d.policyFile, "policy", "", "policy YAML file (default: the built-in policy)")
	fs.StringVar(&d.keysFile, "keys", "", "API keys file (default: a demo keys file written into the data dir)")
	d.providers.registerSim(fs)
	d.api.register(fs)
}

// devRuntime is a running `aftersales dev`: every part in one process.
type devRuntime struct {
	server   *devserver.Server
	apiURL   string
	keysPath string
	keys     []api.Key
	// courierSecret and paymentSecret are the webhook secret files.
	courierSecret, paymentSecret string
	stop                         []func()
	served                       chan error
	temporal                     client.Client
	// worker runs the workflows and activities; newWorker makes its
	// replacement (RestartWorker).
	workerMu  sync.Mutex
	worker    sdkworker.Worker
	newWorker func() sdkworker.Worker
}

// RestartWorker stops the worker, as a crash of the worker process would end
// it (its cached workflows are gone; its running activities get
// WorkerStopTimeout to finish), and starts a new one. aftersales bench --chaos
// calls it at random moments.
func (rt *devRuntime) RestartWorker() error {
	rt.workerMu.Lock()
	defer rt.workerMu.Unlock()
	rt.worker.Stop()
	rt.worker = rt.newWorker()
	return rt.worker.Start()
}

// runDev starts everything, prints where it is, and stops cleanly on a signal.
func runDev(ctx context.Context, args []string) error { return dev(ctx, args, os.Stdout) }

// dev is runDev printing to out.
func dev(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var d devFlags
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rt, err := startDev(ctx, d)
	if err != nil {
		return err
	}
	rt.print(out)
	select {
	case <-ctx.Done():
	case err = <-rt.served:
	}
	fmt.Fprintln(out, "stopping…")
	rt.Stop()
	return err
}

// startDev starts the embedded Temporal server and UI, the read model, the worker,
// the simulated providers and the API, in that order; a failure stops what started.
func startDev(ctx context.Context, d devFlags) (rt *devRuntime, err error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt = &devRuntime{served: make(chan error, 1)}
	defer func() {
		if err != nil {
			rt.Stop()
		}
	}()
	// The API's port is bound first and held, so nothing can take it while the
	// rest starts; port 0 picks a free one (rt.apiURL tells which).
	apiListener, err := listenAPI(d.http)
	if err != nil {
		return rt, err
	}
	rt.stop = append(rt.stop, func() { apiListener.Close() })
	rt.apiURL = "http://" + dialAddr(apiListener.Addr())
	policy, err := loadPolicy(d.policyFile)
	if err != nil {
		return rt, err
	}
	if err := os.MkdirAll(d.dataDir, 0o755); err != nil {
		return rt, fmt.Errorf("data dir: %w", err)
	}
	unlock, err := lockDataDir(d.dataDir)
	if err != nil {
		return rt, err
	}
	rt.stop = append(rt.stop, unlock)
	rt.keysPath = d.keysFile
	if rt.keysPath == "" {
		rt.keysPath = filepath.Join(d.dataDir, "keys.json")
	}
	if rt.keys, err = demoKeys(rt.keysPath); err != nil {
		return rt, err
	}
	keys, err := api.NewKeys(rt.keys)
	if err != nil {
		return rt, err
	}
	rt.courierSecret = filepath.Join(d.dataDir, "webhook-courier.secret")
	rt.paymentSecret = filepath.Join(d.dataDir, "webhook-payment.secret")
	secrets, err := loadWebhookSecrets(rt.courierSecret, rt.paymentSecret, true)
	if err != nil {
		return rt, err
	}

	srv, err := devserver.Start(devserver.Options{DataDir: d.dataDir, FrontendPort: d.temporalPort,
		UIPort: d.uiPort, SearchAttributes: workflows.SearchAttributes, Logger: logger})
	if err != nil {
		return rt, withFlag(err, d)
	}
	rt.server = srv
	rt.stop = append(rt.stop, srv.Stop)

	db, err := openStore(ctx, "sqlite:"+filepath.Join(d.dataDir, "aftersales.db"), true)
	if err != nil {
		return rt, err
	}
	rt.stop = append(rt.stop, func() { db.Close() })
	reg := newRegistry()
	tc, err := dialTemporal(temporalFlags{address: srv.FrontendAddress(), namespace: srv.Namespace(), loopback: true}, logger, reg)
	if err != nil {
		return rt, err
	}
	rt.stop = append(rt.stop, tc.Close)

	d.providers.webhookURL = rt.apiURL
	d.providers.simLedgerFile = filepath.Join(d.dataDir, "sim-payments.json")
	courier, payment, closeProviders, err := d.providers.build(secrets, logger)
	if err != nil {
		return rt, err
	}
	rt.stop = append(rt.stop, closeProviders)
	acts := &activities.Activities{Store: db, Ledger: db, Parcels: db, Courier: courier, Payment: payment}
	rt.worker = worker.New(tc, acts)
	if err := rt.worker.Start(); err != nil {
		return rt, fmt.Errorf("worker: %w", err)
	}
	rt.newWorker = func() sdkworker.Worker { return worker.New(tc, acts) }
	rt.stop = append(rt.stop, func() { rt.workerMu.Lock(); rt.worker.Stop(); rt.workerMu.Unlock() })

	cfg := api.Config{Temporal: tc, Namespace: srv.Namespace(), Store: db, Keys: keys, Policy: policy,
		CourierWebhookKeys: secrets.courier, PaymentWebhookKeys: secrets.payment, Logger: logger}
	d.api.apply(&cfg)
	cfg.Registry = reg
	a := api.New(cfg)
	if h := d.providers.simPayments; h != nil {
		a.Echo().GET("/sim/payments", echo.WrapHandler(h))
	}
	if d.extend != nil {
		if err := d.extend(a.Echo(), tc); err != nil {
			return rt, err
		}
	}
	rt.temporal = tc
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Serve(actx, apiListener); err != nil {
			rt.served <- fmt.Errorf("API on %s: %w", apiListener.Addr(), err)
		}
	}()
	rt.stop = append(rt.stop, func() { cancel(); <-done })
	return rt, nil
}

// Stop stops every part in the reverse order of starting.
func (rt *devRuntime) Stop() {
	for i := len(rt.stop) - 1; i >= 0; i-- {
		rt.stop[i]()
	}
	rt.stop = nil
}

func (rt *devRuntime) print(out io.Writer) {
	fmt.Fprintf(out, "aftersales dev is running\n")
	fmt.Fprintf(out, "  API              %s   (OpenAPI: %s/openapi.json)\n", rt.apiURL, rt.apiURL)
	fmt.Fprintf(out, "  Temporal Web UI  %s/namespaces/%s/workflows\n", rt.server.UIURL(), rt.server.Namespace())
	fmt.Fprintf(out, "  Temporal gRPC    %s   (namespace %s)\n", rt.server.FrontendAddress(), rt.server.Namespace())
	fmt.Fprintf(out, "  keys file        %s\n", rt.keysPath)
	for _, k := range rt.keys {
		fmt.Fprintf(out, "    %-8s %-10s %s\n", k.Role, k.Subject, k.Key)
	}
	fmt.Fprintf(out, "  webhook secrets  courier %s\n                   payment %s\n", rt.courierSecret, rt.paymentSecret)
	fmt.Fprintf(out, "Stop with Ctrl-C; a restart on the same --data-dir resumes every ticket.\n")
}

// dialAddr is where a local client reaches a listener: loopback for one bound on
// every interface ("--http :8080" is served at http://127.0.0.1:8080).
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// listenAPI binds the API address; a taken port is refused in one line that names
// the flag which changes it.
func listenAPI(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--http %q: want host:port such as 127.0.0.1:8080", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return nil, fmt.Errorf("--http %q: the port must be a number from 0 to 65535", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if devserver.IsAddrInUse(err) {
			return nil, fmt.Errorf("%v: change it with --http", &devserver.PortInUseError{Port: n, What: "API"})
		}
		return nil, fmt.Errorf("API on %s (--http): %w", net.JoinHostPort(host, port), err)
	}
	return l, nil
}

// withFlag adds the flag to change to a taken-port error from the embedded server.
func withFlag(err error, d devFlags) error {
	var inUse *devserver.PortInUseError
	if !errors.As(err, &inUse) {
		return err
	}
	switch inUse.Port {
	case d.temporalPort:
		return fmt.Errorf("%v: change it with --temporal-port", err)
	case d.uiPort:
		return fmt.Errorf("%v: change it with --ui-port", err)
	}
	return err
}
