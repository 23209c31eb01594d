package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/devserver"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/worker"
	"github.com/aftersales/aftersales/workflows"
)

// The commands run here as the API runs them, without HTTP: on a real
// embedded Temporal server with the worker, a real SQLite read model, and the
// simulated payment provider in manual mode, whose answers the tests deliver
// as the webhook would (app.DeliverPaymentEvent).
var (
	cmds *app.App
	db   *store.DB
	tc   client.Client
	pay  *payment.Simulator
	seq  atomic.Int64
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "app test runtime:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "aftersales-app-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Options{DataDir: dir, Logger: quiet, SearchAttributes: workflows.SearchAttributes})
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	if tc, err = client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(quiet)}); err != nil {
		return 0, err
	}
	defer tc.Close()
	if db, err = store.Open("sqlite:" + filepath.Join(dir, "read.db")); err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		return 0, err
	}
	pay = &payment.Simulator{Mode: payment.ModeManual}
	defer pay.Close()
	parcels := &courier.Simulator{Mode: courier.ModeManual}
	defer parcels.Close()
	w := worker.New(tc, &activities.Activities{Store: db, Ledger: db, Parcels: db, Courier: parcels, Payment: pay})
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	cmds = app.New(app.Config{Temporal: tc, Store: db, Policy: models.DefaultPolicy(), Logger: quiet})
	return m.Run(), nil
}

var (
	seller   = models.Principal{Role: models.RoleSeller, Subject: "shop-app"}
	platform = models.Principal{Role: models.RolePlatform, Subject: "agent-app"}
)

func buyer(id string) models.Principal { return models.Principal{Role: models.RoleBuyer, Subject: id} }

// registered registers an order of shop-app paid paid cents by a buyer of its
// own, and returns the order and the buyer.
func registered(t *testing.T, paid int64) (models.Order, models.Principal) {
	t.Helper()
	n := seq.Add(1)
	b := buyer(fmt.Sprintf("buyer-app-%d", n))
	o := models.Order{OrderID: fmt.Sprintf("o-app-%d", n), OrderFacts: models.OrderFacts{ShopID: seller.Subject, BuyerID: b.Subject,
		PaidCents: paid, Currency: "CNY", PaidAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Second)}}
	saved, created, err := cmds.PutOrder(t.Context(), seller, o, app.Sent{})
	if err != nil || !created {
		t.Fatalf("register %s: created %v, %v", o.OrderID, created, err)
	}
	return saved, b
}

// refundOnly is a buyer's application for a refund of amount on order o.
func refundOnly(o models.Order, amount int64) models.CreateTicket {
	return models.CreateTicket{OrderID: o.OrderID, ShopID: o.ShopID, BuyerID: o.BuyerID, Kind: models.KindRefundOnly,
		ReasonCode: models.ReasonNotReceived, RequestedCents: amount}
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if models.ErrorCode(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// waitState polls the read model until the ticket is in state.
func waitState(t *testing.T, id string, state models.State) models.Ticket {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tk, err := db.GetTicket(t.Context(), id)
		if err == nil && tk.State == state {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s is %s (%v), never %s", id, tk.State, err, state)
		}
		sleepTick()
	}
}

// sleepTick is the pause between two reads of the read model while a test waits
// for the worker.
func sleepTick() { time.Sleep(20 * time.Millisecond) }
