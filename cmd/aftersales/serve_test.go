package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	srv, err := devserver.Start(devserver.Options{DataDir: filepath.Join(dir, "temporal"),
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
	keysFile := filepath.Join(dir, "keys.json")
	courierSecret, paymentSecret := filepath.Join(dir, "webhook-courier.secret"), filepath.Join(dir, "webhook-payment.secret")
	raw, _ := json.Marshal(keys)
	if err := os.WriteFile(keysFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadWebhookSecrets(courierSecret, paymentSecret, true); err != nil {
		t.Fatal(err)
	}
	common := []string{"--temporal-address", srv.FrontendAddress(), "--temporal-namespace", srv.Namespace(),
		"--database-url", dbURL, "--courier-webhook-secret-file", courierSecret,
		"--payment-webhook-secret-file", paymentSecret, "--migrate"}

	// Both start at once and both migrate, as a pair of units or containers does.
	// The API picks its port; the worker's simulated providers call it through a
	// front that is pointed at the API once it listens.
	webhooks := newFront(t)
	listening := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	results, failed := make(chan error, 2), make(chan error, 2)
	run := func(name string, cmd func() error) {
		err := cmd()
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			failed <- err
		}
		results <- err
	}
	go run("worker", func() error {
		return runWorker(ctx, append(common, "--webhook-url", webhooks.URL, "--sim-delay", "100ms"))
	})
	go run("api", func() error {
		return serveAPI(ctx, append(common, "--http", "127.0.0.1:0", "--keys", keysFile),
			func(a net.Addr) { listening <- "http://" + a.String() })
	})
	stop := func() {
		cancel()
		for range 2 {
			if err := <-results; err != nil {
				t.Errorf("command returned %v", err)
			}
		}
	}
	defer func() {
		if ctx.Err() == nil {
			stop()
		}
	}()

	var base string
	select {
	case base = <-listening:
	case err := <-failed:
		t.Fatalf("before the api listened: %v", err)
	}
	webhooks.point(t, base)
	waitFor(t, failed, "api ready", func() (bool, string) {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, res.Status
	})
	var tk models.Ticket
	// The platform opens it, stating the order and the buyer's credit; a buyer of
	// its own each run, so that a MySQL kept between runs holds no recent returns.
	code := request(t, http.MethodPost, base+"/v1/tickets", keys[1].Key, models.CreateTicket{
		OrderID: fmt.Sprintf("serve-%d", time.Now().UnixNano()), ShopID: "shop-s", BuyerID: fmt.Sprintf("buyer-s%d", time.Now().UnixNano()),
		Kind: models.KindRefundOnly, ReasonCode: models.ReasonNotReceived, RequestedCents: 3000, BuyerCredit: 3,
		Order: models.OrderInfo{PaidCents: 3000, PaidAt: time.Now().UTC()},
	}, &tk)
	if code != http.StatusCreated || tk.State != models.StateRefunding || !tk.Flags.FastReviewed {
		t.Fatalf("create: %d %s", code, tk.State)
	}
	waitFor(t, failed, "ticket completed", func() (bool, string) {
		request(t, http.MethodGet, base+"/v1/tickets/"+tk.ID, keys[1].Key, nil, &tk)
		return tk.State == models.StateCompleted, fmt.Sprintf("%s %+v", tk.State, tk.Timeline)
	})
	if tk.Outcome != models.OutcomeRefunded || tk.RefundedCents != 3000 {
		t.Errorf("outcome %s refunded %d", tk.Outcome, tk.RefundedCents)
	}
	stop() // both commands return cleanly when their context ends
}
