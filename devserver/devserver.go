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
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"

	"github.com/aftersales/aftersales/worker"
)

// DefaultStartTimeout is how long Start waits for the frontend to serve
// requests and the Web UI to accept connections when Options.StartTimeout is
// 0. Generous on purpose: a loaded machine can take many seconds to bring the
// services up, and hitting the bound only turns a slow start into a failed one.
const DefaultStartTimeout = 2 * time.Minute

const (
	// uiStopTimeout bounds how long Stop waits for the Web UI to close its
	// listener. Closing is immediate; the bound only keeps a stuck UI from
	// hanging Stop.
	uiStopTimeout = time.Minute
	// buildAttempts is how often Start builds the Temporal server when a port
	// it chose itself was taken by another process just before the server
	// bound it.
	buildAttempts = 3

	frontendWhat = "Temporal frontend"
	uiWhat       = "Temporal Web UI"
)

// Options configures Start. Zero values get the documented defaults.
type Options struct {
	// DataDir holds the server state: the SQLite database DataDir/temporal.db
	// and DataDir/temporal.version, the Temporal server version that created
	// it. Required; created if missing.
	DataDir string
	// IP the frontend and the Web UI listen on. Default "127.0.0.1".
	IP string
	// FrontendPort is the gRPC frontend port, e.g. 7233. 0 lets Start choose
	// a free port; FrontendAddress reports it.
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
	// StartTimeout bounds how long Start waits, once the Temporal services
	// have started, for the frontend to serve requests, the search
	// attributes to be listed and the Web UI to accept connections.
	// Default DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a running dev server. Stop it with Stop.
type Server struct {
	frontendAddr string
	uiURL        string
	namespace    string
	logger       *slog.Logger
	temporal     temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{} // closed when the UI server has returned; uiErr is then set
	uiErr        error
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
	// The caller's ports are held from here until the server and the UI bind
	// them: a taken port is refused before the database is touched, and no
	// other process can take it while the database is prepared.
	var frontendHold, uiHold portHold
	defer frontendHold.release()
	defer uiHold.release()
	if opts.FrontendPort != 0 {
		if _, err := frontendHold.take(opts.IP, opts.FrontendPort, frontendWhat); err != nil {
			return nil, err
		}
	}
	if opts.UIPort != 0 {
		if _, err := uiHold.take(opts.IP, opts.UIPort, uiWhat); err != nil {
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
	srv, p, err := newTemporal(opts, dialIP, sqlCfg, logLevel, &frontendHold)
	if err != nil {
		return nil, err
	}
	s := &Server{
		frontendAddr: hostPort(dialIP, p.frontend),
		namespace:    opts.Namespace,
		logger:       opts.Logger,
		temporal:     srv,
		logLevel:     logLevel,
	}
	if err := srv.Start(); err != nil {
		logLevel.Set(silentLevel)
		_ = srv.Stop()
		return nil, fmt.Errorf("starting Temporal server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()
	if err := s.ready(ctx, opts); err != nil {
		s.Stop()
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := s.startUI(ctx, opts, dialIP, &uiHold); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// newTemporal builds the Temporal server. The services bind their listeners
// while being built, in temporal.NewServer (Start only serves on them), so
// the ports stay held until just before it: the caller's frontend port in
// frontendHold, the ports chosen here in their own hold. Another process can
// still take a port in that moment; the server then calls Fatal, which the
// fatalTrap turns into an error. The caller's frontend port gives a
// *PortInUseError. When Start chose every port (opts.FrontendPort 0), the
// build is repeated with newly chosen ports.
//
// A failed build cannot be undone: the services built before the failure
// stay behind, idle, with their listeners open. That is why a build is not
// repeated when the caller gave the frontend port: the frontend may have
// been built, holding it. Both are rare and better than exiting the process.
func newTemporal(opts Options, dialIP string, sqlCfg *config.SQL, logLevel *slog.LevelVar, frontendHold *portHold) (temporal.Server, ports, error) {
	for attempt := 1; ; attempt++ {
		p, chosen, err := choosePorts(opts, dialIP)
		if err != nil {
			return nil, ports{}, err
		}
		frontendHold.release()
		chosen.release()
		srv, err := buildTemporal(opts, dialIP, p, sqlCfg, logLevel)
		if err == nil {
			return srv, p, nil
		}
		port, inUse := lostPort(err)
		switch {
		case inUse && opts.FrontendPort != 0 && port == opts.FrontendPort:
			return nil, ports{}, &PortInUseError{Port: port, What: frontendWhat}
		case inUse && attempt < buildAttempts && opts.FrontendPort == 0:
			continue
		}
		return nil, ports{}, fmt.Errorf("creating Temporal server: %w", err)
	}
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
	if opts.FrontendPort < 0 || opts.FrontendPort > 65535 {
		return opts, "", fmt.Errorf("devserver: invalid frontend port %d", opts.FrontendPort)
	}
	if opts.UIPort < 0 || opts.UIPort > 65535 || (opts.UIPort != 0 && opts.UIPort == opts.FrontendPort) {
		return opts, "", fmt.Errorf("devserver: invalid UI port %d", opts.UIPort)
	}
	if opts.StartTimeout < 0 {
		return opts, "", fmt.Errorf("devserver: invalid start timeout %s", opts.StartTimeout)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return opts, dialIP, nil
}

// choosePorts picks the ports Start chooses itself and holds them: the
// frontend port when opts.FrontendPort is 0 and the frontend's HTTP port on
// opts.IP, where the frontend listens, and the internal services' ports on
// dialIP. Holding all of them at once also keeps them distinct.
func choosePorts(opts Options, dialIP string) (ports, *portHold, error) {
	h := new(portHold)
	p := ports{frontend: opts.FrontendPort}
	var err error
	choose := func(ip string, port *int, what string) {
		if err == nil {
			*port, err = h.take(ip, 0, what)
		}
	}
	if p.frontend == 0 {
		choose(opts.IP, &p.frontend, frontendWhat)
	}
	choose(opts.IP, &p.frontendHTTP, "Temporal frontend HTTP")
	choose(dialIP, &p.history, "Temporal history")
	choose(dialIP, &p.matching, "Temporal matching")
	choose(dialIP, &p.worker, "Temporal worker")
	if err != nil {
		h.release()
		return ports{}, nil, err
	}
	return p, h, nil
}

// buildTemporal calls temporal.NewServer with the logger's fatalTrap armed,
// so that a Fatal while the services are built returns as a *fatalError
// instead of exiting. Only a Fatal on this goroutine can be recovered: the
// services bind their listeners here, inside NewServer; a Fatal on another
// goroutine while the trap is armed still ends the process, as it did before.
func buildTemporal(opts Options, dialIP string, p ports, sqlCfg *config.SQL, logLevel *slog.LevelVar) (srv temporal.Server, err error) {
	trap := new(fatalTrap)
	options := []temporal.ServerOption{
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(serverConfig(opts.IP, dialIP, p, sqlCfg)),
		temporal.WithStaticHosts(staticHosts(dialIP, p)),
		temporal.WithLogger(newServerLogger(opts.Logger, logLevel, trap)),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	}
	trap.armed.Store(true)
	defer func() {
		trap.armed.Store(false)
		if r := recover(); r != nil {
			fe, ok := r.(*fatalError)
			if !ok {
				panic(r)
			}
			srv, err = nil, fe
		}
	}()
	return temporal.NewServer(options...)
}

// lostPort reports whether building the server failed because a port was
// taken, and which one. A gRPC listener reports it through Fatal (a
// *fatalError with the address); the frontend's HTTP listener as an error.
func lostPort(err error) (int, bool) {
	if !IsAddrInUse(err) {
		return 0, false
	}
	var addr string
	var fe *fatalError
	var opErr *net.OpError
	switch {
	case errors.As(err, &fe):
		addr = fe.address
	case errors.As(err, &opErr) && opErr.Addr != nil:
		addr = opErr.Addr.String()
	}
	_, port, splitErr := net.SplitHostPort(addr)
	n, atoiErr := strconv.Atoi(port)
	return n, splitErr == nil && atoiErr == nil
}

// ready waits until the frontend serves requests, then registers the search
// attributes that the namespace lacks.
func (s *Server) ready(ctx context.Context, opts Options) error {
	c, err := s.dial(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = worker.EnsureSearchAttributes(ctx, c, opts.Namespace, opts.SearchAttributes)
	return err
}

func (s *Server) dial(ctx context.Context, opts Options) (client.Client, error) {
	var lastErr error
	for {
		// Each attempt gets long enough for a loaded machine; a refused
		// connection (not listening yet) still fails at once and is retried.
		attemptCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := client.DialContext(attemptCtx, client.Options{
			HostPort:  s.frontendAddr,
			Namespace: s.namespace,
			Logger:    sdklog.NewStructuredLogger(filtered(opts.Logger, slog.LevelWarn)),
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
			return nil, fmt.Errorf("Temporal frontend at %s not ready after %s: %w", s.frontendAddr, opts.StartTimeout, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startUI starts the Web UI on the port in uiHold and waits until it accepts
// connections. The UI server exits the process when it cannot listen; the
// port is held until just before it listens, so only another process taking
// it in that moment can cause that.
func (s *Server) startUI(ctx context.Context, opts Options, dialIP string, uiHold *portHold) error {
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
	uiHold.release()
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop and then returns nil; it returns an error
		// if its config is unusable (and exits if it cannot listen).
		s.uiErr = s.ui.Start()
	}()
	addr := hostPort(dialIP, opts.UIPort)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			s.uiURL = "http://" + addr
			return nil
		}
		select {
		case <-s.uiDone:
			err := s.uiErr
			if err == nil {
				err = errors.New("stopped")
			}
			return fmt.Errorf("Temporal Web UI at %s failed to start: %w", addr, err)
		case <-ctx.Done():
			return fmt.Errorf("Temporal Web UI at %s not ready after %s: %w", addr, opts.StartTimeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FrontendAddress is the host:port clients and workers dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIURL is the Web UI address, e.g. "http://127.0.0.1:8233", or "" without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the Web UI and the Temporal server and closes the database.
// It returns once their listeners are closed, so the ports can be bound
// again at once. It is safe to call more than once; later calls do nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		// A stopping server logs every connection and request it loses,
		// at Warn and Error: drop its records from here on.
		s.logLevel.Set(silentLevel)
		if s.ui != nil {
			// Stop closes the listener; uiDone closes when Start has
			// returned, which it does only with the listener closed (also
			// when Stop came first: serving a closed server closes the
			// listener it was given).
			s.ui.Stop()
			select {
			case <-s.uiDone:
			case <-time.After(uiStopTimeout):
				s.logger.Warn("Temporal Web UI did not stop", "timeout", uiStopTimeout)
			}
		}
		// Returns after the services have stopped their gRPC and HTTP
		// servers, which closes their listeners.
		_ = s.temporal.Stop()
	})
}
