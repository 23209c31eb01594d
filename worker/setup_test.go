package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/devserver"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/worker"
	"github.com/aftersales/aftersales/workflows"
)

// A cluster nobody set up: /readyz answers 503 naming what is missing and the
// command to run; SetupTemporal, run by three processes at once, registers the
// search attributes (and a namespace that is missing), after which nothing is
// missing and /readyz answers 200.
func TestSetupTemporal(t *testing.T) {
	srv, c, db := embedded(t, nil) // no search attributes
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, _ := api.NewKeys(nil)
	hs := httptest.NewServer(api.New(api.Config{Temporal: c, Namespace: srv.Namespace(), Store: db, Keys: keys,
		Policy: models.DefaultPolicy(), Logger: logger}).Handler())
	t.Cleanup(hs.Close)
	readyz := func() (int, string) {
		resp, err := http.Get(hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Checks["temporal"]
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	missing, err := worker.MissingSetup(ctx, c, srv.Namespace())
	if err != nil || len(missing) != len(workflows.SearchAttributes) {
		t.Fatalf("MissingSetup on a bare namespace = %v, %v", missing, err)
	}
	if code, check := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(check, "search attribute SLADeadline") ||
		!strings.Contains(check, "aftersales temporal-setup") {
		t.Fatalf("readyz on a bare namespace: %d %q", code, check)
	}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = worker.SetupTemporal(ctx, c, srv.Namespace(), 72*time.Hour)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("setup %d: %v", i, err)
		}
	}
	if missing, err := worker.MissingSetup(ctx, c, srv.Namespace()); err != nil || len(missing) != 0 {
		t.Fatalf("after the setup: missing %v, %v", missing, err)
	}
	if code, check := readyz(); code != http.StatusOK {
		t.Fatalf("readyz after the setup: %d %q", code, check)
	}

	// A namespace that does not exist is registered, then given the attributes.
	const ns = "aftersales-setup-test"
	if missing, err := worker.MissingSetup(ctx, c, ns); err != nil || len(missing) != 1 || missing[0] != "namespace "+ns {
		t.Fatalf("MissingSetup of an unknown namespace = %v, %v", missing, err)
	}
	done, err := worker.SetupTemporal(ctx, c, ns, 24*time.Hour)
	if err != nil || len(done) == 0 || !strings.Contains(done[0], "namespace "+ns+" registered") {
		t.Fatalf("SetupTemporal(%s) = %v, %v", ns, done, err)
	}
	if missing, err := worker.MissingSetup(ctx, c, ns); err != nil || len(missing) != 0 {
		t.Fatalf("after registering %s: missing %v, %v", ns, missing, err)
	}
}

// embedded starts an embedded Temporal server with the search attributes given
// (nil: none), a client of it, and a migrated SQLite read model, all stopped
// when t ends.
func embedded(t *testing.T, attrs map[string]enums.IndexedValueType) (*devserver.Server, client.Client, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Options{DataDir: dir, Logger: quiet, SearchAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	db, err := store.Open("sqlite:" + filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return srv, c, db
}
