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

// testPorts returns n distinct free ports on 127.0.0.1.
func testPorts(t *testing.T, n int) []int {
	t.Helper()
	p, err := freePorts("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startServer starts a dev server on dir with fresh ports and stops it at
// the end of the test.
func startServer(t *testing.T, dir string, withUI bool) *Server {
	t.Helper()
	p := testPorts(t, 2)
	opts := Options{
		DataDir:          dir,
		FrontendPort:     p[0],
		Namespace:        "default",
		SearchAttributes: testSearchAttributes,
		Logger:           testLogger,
	}
	if withUI {
		opts.UIPort = p[1]
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

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
	if err := CheckPortFree("127.0.0.1", portOf(t, s.FrontendAddress()), "frontend"); err != nil {
		t.Errorf("frontend port still taken after Stop: %v", err)
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

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

	s2 := startServer(t, dir, false)
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
	p := testPorts(t, 1)
	opts := Options{DataDir: dir, FrontendPort: p[0], Logger: testLogger}

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
	free := testPorts(t, 1)[0]
	dir := t.TempDir()

	for _, tc := range []struct {
		name         string
		frontend, ui int
		wantWhat     string
	}{
		{"frontend", taken, 0, "Temporal frontend"},
		{"ui", free, taken, "Temporal Web UI"},
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
	p := testPorts(t, 1)
	s1, err := Start(Options{
		DataDir:          dir,
		FrontendPort:     p[0],
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
	p = testPorts(t, 1)
	s2, err := Start(Options{DataDir: dir, FrontendPort: p[0], SearchAttributes: more, Logger: testLogger})
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	t.Cleanup(s2.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
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

	// The same name with another type is refused.
	p = testPorts(t, 1)
	s3, err := Start(Options{
		DataDir:          dir,
		FrontendPort:     p[0],
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
	// The refused start released its ports: the frontend port is free again.
	if err := CheckPortFree("127.0.0.1", p[0], "frontend"); err != nil {
		t.Errorf("after a refused start: %v", err)
	}
}
