package devserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var testSearchAttributes = map[string]enumspb.IndexedValueType{
	"TicketState": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"SLADeadline": enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

var testLogger = slog.New(slog.NewTextHandler(os.Stderr, nil))

// testContext is canceled shortly before the test binary's deadline
// (go test -timeout), so that a wait which never ends fails the test with
// its own message instead of a timeout panic.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// freePort returns a port that was free on 127.0.0.1 a moment ago, for the
// Web UI (whose port 0 means "no UI") and where a test must know the port
// before Start. Start holds the port again first thing.
func freePort(t *testing.T) int {
	t.Helper()
	var h portHold
	defer h.release()
	p, err := h.take("127.0.0.1", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startServer starts a dev server on dir with a frontend port Start chooses
// and stops it at the end of the test.
func startServer(t *testing.T, dir string, withUI bool) *Server {
	t.Helper()
	opts := Options{
		DataDir:          dir,
		Namespace:        "default",
		SearchAttributes: testSearchAttributes,
		Logger:           testLogger,
	}
	if withUI {
		opts.UIPort = freePort(t)
	}
	began := time.Now()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server started in %s at %s (UI %q)", time.Since(began).Round(time.Millisecond), s.FrontendAddress(), s.UIURL())
	t.Cleanup(s.Stop)
	return s
}

func newClient(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(filtered(testLogger, slog.LevelWarn)),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestStartNamespaceSearchAttributesAndUI(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	c := newClient(t, s)
	ctx := testContext(t)

	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()}); err != nil {
		t.Fatalf("namespace %s: %v", s.Namespace(), err)
	}
	ns, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for name, typ := range testSearchAttributes {
		if got, ok := ns.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("search attribute %s: got %v (present %v), want %v", name, got, ok, typ)
		}
	}

	if !strings.HasPrefix(s.UIURL(), "http://127.0.0.1:") {
		t.Fatalf("UIURL = %q", s.UIURL())
	}
	resp, err := http.Get(s.UIURL())
	if err != nil {
		t.Fatalf("GET UI: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", s.UIURL(), resp.StatusCode)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("UI page does not look like HTML: %.200s", body)
	}

	s.Stop()
	s.Stop() // second call is a no-op
	// Checked at once, not waited for: Stop returns only once the listeners
	// are closed, so that a restart can bind the ports right away.
	if err := CheckPortFree("127.0.0.1", portOf(t, s.FrontendAddress()), "frontend"); err != nil {
		t.Errorf("frontend port still taken after Stop: %v", err)
	}
	if err := CheckPortFree("127.0.0.1", portOf(t, strings.TrimPrefix(s.UIURL(), "http://")), "UI"); err != nil {
		t.Errorf("UI port still taken after Stop: %v", err)
	}
}

const (
	timerQueue    = "devserver-test"
	timerWorkflow = "TimerWorkflow"
)

// timerWF waits an hour: after a restart it must still be running.
func timerWF(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return "waiting", nil }); err != nil {
		return err
	}
	return workflow.NewTimer(ctx, time.Hour).Get(ctx, nil)
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, timerQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(timerWF, workflow.RegisterOptions{Name: timerWorkflow})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	return w
}

func TestRestartKeepsWorkflows(t *testing.T) {
	dir := t.TempDir()
	const wfID = "ticket-restart-1"
	ctx := testContext(t)

	s1 := startServer(t, dir, false)
	if s1.UIURL() != "" {
		t.Errorf("UIURL = %q without UI", s1.UIURL())
	}
	c1 := newClient(t, s1)
	w1 := startWorker(t, c1)
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: timerQueue}, timerWorkflow)
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	waitTimerStarted(ctx, t, c1, wfID, run.GetRunID())
	w1.Stop()
	c1.Close()
	s1.Stop()

	// The restarted server must work on another frontend port: nothing may
	// tie the data to the old address. Holding the old port keeps
	// Start from choosing it again; if another process took it meanwhile,
	// Start cannot choose it either.
	var old portHold
	_, _ = old.take("127.0.0.1", portOf(t, s1.FrontendAddress()), "old frontend")
	s2 := startServer(t, dir, false)
	old.release()
	if s2.FrontendAddress() == s1.FrontendAddress() {
		t.Fatalf("expected new ports, both at %s", s2.FrontendAddress())
	}
	c2 := newClient(t, s2)
	desc, err := c2.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want Running", st)
	}
	if got := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(); got != run.GetRunID() {
		t.Errorf("run id after restart = %s, want %s", got, run.GetRunID())
	}
	waitTimerStarted(ctx, t, c2, wfID, "")

	w2 := startWorker(t, c2)
	t.Cleanup(w2.Stop)
	v, err := c2.QueryWorkflow(ctx, wfID, "", "state")
	if err != nil {
		t.Fatalf("query after restart: %v", err)
	}
	var state string
	if err := v.Get(&state); err != nil || state != "waiting" {
		t.Fatalf("query result = %q, %v", state, err)
	}
}

// waitTimerStarted waits until the workflow's history records the 1h timer.
func waitTimerStarted(ctx context.Context, t *testing.T, c client.Client, id, runID string) {
	t.Helper()
	for {
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history: %v", err)
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timer never started: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestVersionGuard(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An existing database, as a previous run would leave it.
	if err := prepareStore(Options{DataDir: dir, Namespace: "default"}, sqlConfig(filepath.Join(dir, dbFileName))); err != nil {
		t.Fatalf("prepare store: %v", err)
	}
	opts := Options{DataDir: dir, Logger: testLogger}

	if err := os.WriteFile(filepath.Join(dir, versionFileName), []byte("1.31.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start(opts)
	if err == nil {
		s.Stop()
		t.Fatal("Start accepted a data dir from another server version")
	}
	for _, want := range []string{"1.31.0", serverVersion, dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}

	if err := os.Remove(filepath.Join(dir, versionFileName)); err != nil {
		t.Fatal(err)
	}
	if s, err := Start(opts); err == nil {
		s.Stop()
		t.Fatal("Start accepted a data dir without version file")
	} else if !strings.Contains(err.Error(), serverVersion) {
		t.Errorf("error %q does not mention %s", err, serverVersion)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()

	for _, tc := range []struct {
		name         string
		frontend, ui int
		wantWhat     string
	}{
		{"frontend", taken, 0, "Temporal frontend"},
		{"ui", 0, taken, "Temporal Web UI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(Options{DataDir: dir, FrontendPort: tc.frontend, UIPort: tc.ui, Logger: testLogger})
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded on a taken port")
			}
			var pe *PortInUseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want *PortInUseError", err, err)
			}
			if pe.Port != taken || pe.What != tc.wantWhat {
				t.Errorf("got %+v, want port %d (%s)", pe, taken, tc.wantWhat)
			}
			want := "port " + strconv.Itoa(taken) + " (" + tc.wantWhat + ") is already in use"
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, dbFileName)); err == nil {
		t.Error("a refused start created a database")
	}
}

// A port taken by another process after Start checked or chose it, just
// before the server binds it, is an error from Start's helpers: the server's
// Fatal must not exit the test binary. Each case leaves an idle, partly built
// server behind (see newTemporal).
func TestLostBindIsAnError(t *testing.T) {
	dir := t.TempDir()
	opts, dialIP, err := withDefaults(Options{DataDir: dir, Logger: testLogger})
	if err != nil {
		t.Fatal(err)
	}
	sqlCfg := sqlConfig(filepath.Join(dir, dbFileName))
	if err := prepareStore(opts, sqlCfg); err != nil {
		t.Fatal(err)
	}
	silent := new(slog.LevelVar)
	silent.Set(silentLevel)
	// take holds a port the way another process would.
	take := func(t *testing.T, port int) int {
		var h portHold
		port, err := h.take(dialIP, port, "other process")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.release)
		return port
	}

	t.Run("caller's frontend port", func(t *testing.T) {
		port := take(t, 0)
		o := opts
		o.FrontendPort = port
		_, _, err := newTemporal(o, dialIP, sqlCfg, silent, new(portHold))
		var pe *PortInUseError
		if !errors.As(err, &pe) || pe.Port != port || pe.What != frontendWhat {
			t.Fatalf("error %v, want port %d (%s) in use", err, port, frontendWhat)
		}
	})
	for _, tc := range []struct {
		name string
		port func(ports) int
	}{
		{"gRPC listener", func(p ports) int { return p.history }},
		{"HTTP listener", func(p ports) int { return p.frontendHTTP }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, chosen, err := choosePorts(opts, dialIP)
			if err != nil {
				t.Fatal(err)
			}
			chosen.release()
			lost := tc.port(p)
			take(t, lost)
			srv, err := buildTemporal(opts, dialIP, p, sqlCfg, silent)
			if err == nil {
				_ = srv.Stop()
				t.Fatal("the server was built on a taken port")
			}
			if port, ok := lostPort(err); !ok || port != lost {
				t.Errorf("lostPort = %d, %v, want %d, true; error: %v", port, ok, lost, err)
			}
		})
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRestartAddsNewSearchAttributes(t *testing.T) {
	dir := t.TempDir()
	s1, err := Start(Options{
		DataDir:          dir,
		SearchAttributes: map[string]enumspb.IndexedValueType{"TicketState": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		Logger:           testLogger,
	})
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	s1.Stop()

	more := map[string]enumspb.IndexedValueType{
		"TicketState": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"SLADeadline": enumspb.INDEXED_VALUE_TYPE_DATETIME,
		"Escalated":   enumspb.INDEXED_VALUE_TYPE_BOOL,
	}
	s2, err := Start(Options{DataDir: dir, SearchAttributes: more, Logger: testLogger})
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	t.Cleanup(s2.Stop)
	ctx := testContext(t)
	resp, err := newClient(t, s2).OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s2.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range more {
		if got := resp.GetCustomAttributes()[name]; got != typ {
			t.Errorf("%s: got %v, want %v", name, got, typ)
		}
	}
	s2.Stop()

	// The same name with another type is refused, and frees the port it was given.
	port := freePort(t)
	s3, err := Start(Options{
		DataDir:          dir,
		FrontendPort:     port,
		SearchAttributes: map[string]enumspb.IndexedValueType{"Escalated": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		Logger:           testLogger,
	})
	if err == nil {
		s3.Stop()
		t.Fatal("Start accepted a search attribute with a changed type")
	}
	if !strings.Contains(err.Error(), "Escalated") {
		t.Errorf("error %q does not name the attribute", err)
	}
	// The refused start released its ports: the frontend port is free again
	// as soon as Start returns.
	if err := CheckPortFree("127.0.0.1", port, "frontend"); err != nil {
		t.Errorf("after a refused start: %v", err)
	}
}
