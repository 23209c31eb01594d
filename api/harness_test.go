package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/devserver"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
	"github.com/aftersales/aftersales/worker"
	"github.com/aftersales/aftersales/workflows"
)

// harness is the whole product on a real embedded Temporal server, a real SQLite
// read model and real HTTP, with providers in manual mode: tests post the courier
// and payment webhooks themselves, signed like real providers do.
type harness struct {
	url      string
	tc       client.Client
	db       *store.DB
	secret   []byte
	keys     map[string]string // "buyer", "seller", "platform", "other-seller"
	payments providerLedger
}

// providerLedger is the simulated payment provider's own record, to compare both sides.
type providerLedger interface {
	Paid(key string) int
}

var h *harness

func TestMain(m *testing.M) {
	code, err := runWithHarness(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration harness:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithHarness(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "aftersales-api-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Options{DataDir: dir, FrontendPort: freePort(), Logger: logger,
		SearchAttributes: workflows.SearchAttributes})
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	tc, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quietLogger{}})
	if err != nil {
		return 0, err
	}
	defer tc.Close()
	db, err := store.Open("sqlite:" + filepath.Join(dir, "read.db"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		return 0, err
	}

	h = &harness{tc: tc, db: db, secret: []byte("test-webhook-secret-0123456789"), keys: map[string]string{
		"buyer": "buyer-key-0123456789", "seller": "seller-key-0123456789",
		"platform": "platform-key-0123456789", "other-seller": "other-seller-key-0123456789",
		"other-buyer": "other-buyer-key-0123456789",
	}}
	keys, err := api.NewKeys([]api.Key{
		{Key: h.keys["buyer"], Role: models.RoleBuyer, Subject: "buyer-it"},
		{Key: h.keys["other-buyer"], Role: models.RoleBuyer, Subject: "buyer-other"},
		{Key: h.keys["seller"], Role: models.RoleSeller, Subject: "shop-it"},
		{Key: h.keys["other-seller"], Role: models.RoleSeller, Subject: "shop-other"},
		{Key: h.keys["platform"], Role: models.RolePlatform, Subject: "agent-it"},
	})
	if err != nil {
		return 0, err
	}
	policy := models.DefaultPolicy()
	policy.Version = "it-1"
	a := api.New(api.Config{Temporal: tc, Store: db, Keys: keys, Policy: policy, WebhookSecret: h.secret, Logger: logger})
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	h.url = hs.URL

	courier, payment, ledger, stop := manualProviders(h.url, h.secret)
	defer stop()
	h.payments = ledger
	w := worker.New(tc, &activities.Activities{Store: db, Ledger: db, Courier: courier, Payment: payment})
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	return m.Run(), nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// call sends a JSON request as the named key and decodes the answer into out.
func call(t *testing.T, method, path, key string, body any, out any, headers ...string) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.([]byte)
		if !ok {
			raw, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+h.keys[key])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode
}

// apiError is the error body.
type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// webhook posts a signed webhook body and returns the status.
func postWebhook(t *testing.T, path string, body any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return call(t, http.MethodPost, path, "", raw, nil,
		"X-Signature", models.SignWebhook(h.secret, raw), "X-Timestamp", ts)
}

var eventSeq int

func courierEvent(t *testing.T, ticketID, typ string) {
	t.Helper()
	eventSeq++
	ev := models.CourierEvent{EventID: fmt.Sprintf("it-courier-%d", eventSeq), TicketID: ticketID, Type: typ, At: time.Now().UTC()}
	if got := postWebhook(t, "/v1/webhooks/courier", ev); got != http.StatusAccepted {
		t.Fatalf("courier webhook %s: status %d", typ, got)
	}
}

func paymentEvent(t *testing.T, ticketID, key, status string) {
	t.Helper()
	eventSeq++
	ev := models.PaymentEvent{EventID: fmt.Sprintf("it-pay-%d", eventSeq), TicketID: ticketID, RefundKey: key, Status: status, ProviderRef: "ref-" + key}
	if got := postWebhook(t, "/v1/webhooks/payment", ev); got != http.StatusAccepted {
		t.Fatalf("payment webhook: status %d", got)
	}
}

// getTicket reads a ticket as the platform.
func getTicket(t *testing.T, id string) models.Ticket {
	t.Helper()
	var tk models.Ticket
	if code := call(t, http.MethodGet, "/v1/tickets/"+id, "platform", nil, &tk); code != http.StatusOK {
		t.Fatalf("GET ticket %s: %d", id, code)
	}
	return tk
}

// waitState polls the read model until the ticket reaches state (webhooks are
// Signals, applied asynchronously).
func waitState(t *testing.T, id string, state models.State) models.Ticket {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tk := getTicket(t, id)
		if tk.State == state {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s: state %s, want %s; timeline %+v", id, tk.State, state, tk.Timeline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var orderSeq int

// newTicket creates a ticket as the buyer and returns it.
func newTicket(t *testing.T, mutate func(*models.CreateTicket)) models.Ticket {
	t.Helper()
	orderSeq++
	c := models.CreateTicket{
		OrderID: fmt.Sprintf("order-it-%d-%d", time.Now().UnixNano(), orderSeq), ShopID: "shop-it", BuyerID: "buyer-it",
		Kind: models.KindReturnRefund, ReasonCode: models.ReasonNoReason, Reason: "changed my mind",
		ReturnMethod: models.ReturnPickup, RequestedCents: 129900, Currency: "CNY",
		Order:         models.OrderInfo{PaidCents: 129900, PaidAt: time.Now().Add(-72 * time.Hour).UTC(), Shipped: true, Delivered: true},
		Items:         []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 129900}},
		PickupAddress: "1 Test Road, Hangzhou", BuyerCredit: 1,
	}
	if mutate != nil {
		mutate(&c)
	}
	var tk models.Ticket
	if code := call(t, http.MethodPost, "/v1/tickets", "buyer", c, &tk); code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	return tk
}

// act runs an action and returns the status and the ticket (or error body).
func act(t *testing.T, key, id, action string, body any) (int, models.Ticket, apiError) {
	t.Helper()
	var raw json.RawMessage
	code := call(t, http.MethodPost, "/v1/tickets/"+id+"/"+action, key, body, &raw)
	var tk models.Ticket
	var e apiError
	if code == http.StatusOK {
		_ = json.Unmarshal(raw, &tk)
	} else {
		_ = json.Unmarshal(raw, &e)
	}
	return code, tk, e
}

func mustAct(t *testing.T, key, id, action string, body any) models.Ticket {
	t.Helper()
	code, tk, e := act(t, key, id, action, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", action, id, code, e.Error.Message)
	}
	return tk
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
