package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/devserver"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// TestAPIAndWorkerCommands runs `aftersales api` and `aftersales worker` as separate
// parts against a Temporal server they only reach by address, and the database named
// by AFTERSALES_TEST_MYSQL_DSN (MySQL in CI) or a SQLite file: the production
// topology in one test. A refund-only ticket goes from creation to refunded.
func TestAPIAndWorkerCommands(t *testing.T) {
	dir := t.TempDir()
	srv, err := devserver.Start(devserver.Options{DataDir: filepath.Join(dir, "temporal"), FrontendPort: freePort(t),
		SearchAttributes: workflows.SearchAttributes, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dbURL := os.Getenv("AFTERSALES_TEST_MYSQL_DSN")
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "read.db")
	}
	keys := []api.Key{{Key: "buyer-key-for-the-serve-test", Role: models.RoleBuyer, Subject: "buyer-s"},
		{Key: "platform-key-for-the-serve-test", Role: models.RolePlatform, Subject: "ops"}}
	keysFile, secretFile := filepath.Join(dir, "keys.json"), filepath.Join(dir, "webhook.secret")
	raw, _ := json.Marshal(keys)
	if err := os.WriteFile(keysFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("serve-test-webhook-secret-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	common := []string{"--temporal-address", srv.FrontendAddress(), "--temporal-namespace", srv.Namespace(),
		"--database-url", dbURL, "--webhook-secret-file", secretFile, "--migrate"}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() {
		done <- runWorker(ctx, append(common, "--webhook-url", "http://"+addr, "--sim-delay", "100ms"))
	}()
	go func() { done <- runAPI(ctx, append(common, "--http", addr, "--keys", keysFile)) }()
	stop := func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("command returned %v", err)
			}
		}
	}
	defer func() {
		if ctx.Err() == nil {
			stop()
		}
	}()

	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("api never became ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var tk models.Ticket
	code := request(t, http.MethodPost, base+"/v1/tickets", keys[0].Key, models.CreateTicket{
		OrderID: fmt.Sprintf("serve-%d", time.Now().UnixNano()), ShopID: "shop-s", BuyerID: "buyer-s",
		Kind: models.KindRefundOnly, ReasonCode: models.ReasonNotReceived, RequestedCents: 3000, BuyerCredit: 3,
		Order: models.OrderInfo{PaidCents: 3000, PaidAt: time.Now().UTC()},
	}, &tk)
	if code != http.StatusCreated || tk.State != models.StateRefunding || !tk.Flags.FastReviewed {
		t.Fatalf("create: %d %s", code, tk.State)
	}
	for deadline := time.Now().Add(30 * time.Second); tk.State != models.StateCompleted; {
		if time.Now().After(deadline) {
			t.Fatalf("ticket stayed %s: %+v", tk.State, tk.Timeline)
		}
		time.Sleep(100 * time.Millisecond)
		request(t, http.MethodGet, base+"/v1/tickets/"+tk.ID, keys[1].Key, nil, &tk)
	}
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 3000 {
		t.Errorf("outcome %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	stop() // both commands return cleanly when their context ends
}
