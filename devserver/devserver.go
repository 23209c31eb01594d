// Package devserver runs an embedded, persistent Temporal server (SQLite) with
// its Web UI inside the current process, for `aftersales dev`.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/temporal"
)

const (
	frontendWaitTimeout = 30 * time.Second
	uiWaitTimeout       = 10 * time.Second
	uiStopTimeout       = 5 * time.Second
)

// Options configures Start. Zero values get the documented defaults.
type Options struct {
	// DataDir holds the server state: the SQLite database DataDir/temporal.db
	// and DataDir/temporal.version, the Temporal server version that created
	// it. Required; created if missing.
	DataDir string
	// IP the frontend and the Web UI listen on. Default "127.0.0.1".
	IP string
	// FrontendPort is the gRPC frontend port, e.g. 7233. Required.
	FrontendPort int
	// UIPort is the Web UI port, e.g. 8233; 0 starts no UI.
	UIPort int
	// Namespace is created if missing. Default "default".
	Namespace string
	// SearchAttributes are custom search attributes registered on Namespace,
	// also on a data dir created before they were added.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's log records at Warn level and above,
	// until Stop begins (a stopping server reports every connection and
	// request it loses; those records are dropped). Default: text on stderr.
	Logger *slog.Logger
}

// Server is a running dev server. Stop it with Stop.
type Server struct {
	frontendAddr string
	uiURL        string
	namespace    string
	temporal     temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{}
	logLevel     *slog.LevelVar
	stopOnce     sync.Once
}

// Start checks the ports, opens (or creates) the database in opts.DataDir,
// starts the Temporal services and, when opts.UIPort is set, the Web UI. It
// does not block: it returns once the frontend answers health checks, the
// search attributes are registered and the UI accepts connections. A taken
// frontend or UI port gives a *PortInUseError; a database written by another
// Temporal server version gives an error naming both versions.
func Start(opts Options) (*Server, error) {
	opts, dialIP, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	if err := CheckPortFree(opts.IP, opts.FrontendPort, "Temporal frontend"); err != nil {
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := CheckPortFree(opts.IP, opts.UIPort, "Temporal Web UI"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	sqlCfg := sqlConfig(filepath.Join(opts.DataDir, dbFileName))
	if err := prepareStore(opts, sqlCfg); err != nil {
		return nil, err
	}

	logLevel := new(slog.LevelVar)
	logLevel.Set(defaultLogLevel)
	free, err := freePorts(dialIP, 4)
	if err != nil {
		return nil, err
	}
	p := ports{frontend: opts.FrontendPort, frontendHTTP: free[0], history: free[1], matching: free[2], worker: free[3]}
	srv, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(serverConfig(opts.IP, dialIP, p, sqlCfg)),
		temporal.WithStaticHosts(staticHosts(dialIP, p)),
		temporal.WithLogger(newServerLogger(opts.Logger, logLevel)),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("creating Temporal server: %w", err)
	}
	s := &Server{
		frontendAddr: hostPort(dialIP, opts.FrontendPort),
		namespace:    opts.Namespace,
		temporal:     srv,
		logLevel:     logLevel,
	}
	if err := srv.Start(); err != nil {
		logLevel.Set(silentLevel)
		_ = srv.Stop()
		return nil, fmt.Errorf("starting Temporal server: %w", err)
	}
	if err := s.ready(opts); err != nil {
		s.Stop()
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := s.startUI(opts, dialIP); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

func withDefaults(opts Options) (Options, string, error) {
	if opts.DataDir == "" {
		return opts, "", errors.New("devserver: DataDir is required")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return opts, "", fmt.Errorf("devserver: data dir: %w", err)
	}
	opts.DataDir = dir
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	ip := net.ParseIP(opts.IP)
	if ip == nil {
		return opts, "", fmt.Errorf("devserver: %q is not an IP address", opts.IP)
	}
	dialIP := opts.IP
	if ip.IsUnspecified() {
		dialIP = "127.0.0.1"
		if ip.To4() == nil {
			dialIP = "::1"
		}
	}
	if opts.FrontendPort <= 0 || opts.FrontendPort > 65535 {
		return opts, "", fmt.Errorf("devserver: invalid frontend port %d", opts.FrontendPort)
	}
	if opts.UIPort < 0 || opts.UIPort > 65535 || opts.UIPort == opts.FrontendPort {
		return opts, "", fmt.Errorf("devserver: invalid UI port %d", opts.UIPort)
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return opts, dialIP, nil
}

// ready waits until the frontend serves requests, then registers the search
// attributes that the namespace lacks.
func (s *Server) ready(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), frontendWaitTimeout)
	defer cancel()
	c, err := s.dial(ctx, opts.Logger)
	if err != nil {
		return err
	}
	defer c.Close()
	return registerSearchAttributes(ctx, c, opts.Namespace, opts.SearchAttributes)
}

func (s *Server) dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	var lastErr error
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := client.DialContext(attemptCtx, client.Options{
			HostPort:  s.frontendAddr,
			Namespace: s.namespace,
			Logger:    sdklog.NewStructuredLogger(filtered(logger, slog.LevelWarn)),
		})
		if err == nil {
			_, err = c.CheckHealth(attemptCtx, &client.CheckHealthRequest{})
			if err == nil {
				cancel()
				return c, nil
			}
			c.Close()
		}
		cancel()
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("Temporal frontend at %s not ready after %s: %w", s.frontendAddr, frontendWaitTimeout, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// registerSearchAttributes adds the wanted attributes missing from ns and
// waits until they are listed. An attribute registered with another type is
// an error: workflows upserting it would fail.
func registerSearchAttributes(ctx context.Context, c client.Client, ns string, want map[string]enumspb.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	missing := func() (map[string]enumspb.IndexedValueType, error) {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return nil, fmt.Errorf("listing search attributes: %w", err)
		}
		out := map[string]enumspb.IndexedValueType{}
		for name, typ := range want {
			have, ok := resp.GetCustomAttributes()[name]
			switch {
			case !ok:
				out[name] = typ
			case have != typ:
				return nil, fmt.Errorf("search attribute %s is registered as %s in namespace %s, wanted %s",
					name, have, ns, typ)
			}
		}
		return out, nil
	}
	add, err := missing()
	if err != nil || len(add) == 0 {
		return err
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: add,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	for {
		add, err := missing()
		if err != nil || len(add) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("search attributes %v not visible yet: %w", add, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Server) startUI(opts Options, dialIP string) error {
	host := opts.IP
	if net.ParseIP(host).To4() == nil {
		host = "[" + host + "]" // the UI server formats "host:port" itself
	}
	s.ui = uiserver.NewServer(server_options.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop; it exits the process if it cannot listen,
		// which is why the port was checked before.
		if err := s.ui.Start(); err != nil {
			opts.Logger.Error("Temporal Web UI stopped", "error", err)
		}
	}()
	addr := hostPort(dialIP, opts.UIPort)
	deadline := time.Now().Add(uiWaitTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			s.uiURL = "http://" + addr
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Temporal Web UI at %s not ready after %s: %w", addr, uiWaitTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FrontendAddress is the host:port clients and workers dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIURL is the Web UI address, e.g. "http://127.0.0.1:8233", or "" without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the Web UI and the Temporal server and closes the database.
// It is safe to call more than once; later calls do nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		// A stopping server logs every connection and request it loses,
		// at Warn and Error: drop its records from here on.
		s.logLevel.Set(silentLevel)
		if s.ui != nil {
			s.ui.Stop()
			select {
			case <-s.uiDone:
			case <-time.After(uiStopTimeout):
			}
		}
		_ = s.temporal.Stop()
	})
}
