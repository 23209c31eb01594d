package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/activities/webhook"
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
	endpoint
	tc client.Client
	db *store.DB
	// courierKeys and paymentKeys sign the tests' webhooks as each provider would.
	courierKeys, paymentKeys webhook.Keys
	payments                 providerLedger
	cfg                      api.Config // what the shared server was built from, for newShop
	keyList                  []api.Key
}

// endpoint is an API server and the keys that call it, by name: "buyer", "seller",
// "platform", "other-seller", "other-buyer".
type endpoint struct {
	url  string
	keys map[string]string
}

// providerLedger is the simulated payment provider's own record, to compare both sides.
type providerLedger interface {
	Paid(key string) int
	Settle(t interface{ Fatalf(string, ...any) }, key string, status models.MoneyStatus) models.PaymentEvent
	SettleAgain(t interface{ Fatalf(string, ...any) }, key string, status models.MoneyStatus) models.PaymentEvent
	Net(keys ...string) int64
	NetByLine(orderID string) map[string]int64
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
	// FrontendPort 0: the dev server chooses all its ports and holds them until it
	// binds them, so no other test binary can take one in between (the harness
	// choosing a port and closing it again left that window open).
	srv, err := devserver.Start(devserver.Options{DataDir: dir, Logger: logger,
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

	courierKeys, err := webhook.ParseKeys(webhook.NewSecret())
	if err != nil {
		return 0, err
	}
	paymentKeys, err := webhook.ParseKeys(webhook.NewSecret())
	if err != nil {
		return 0, err
	}
	h = &harness{tc: tc, db: db, courierKeys: courierKeys, paymentKeys: paymentKeys, endpoint: endpoint{keys: map[string]string{
		"buyer": "buyer-key-0123456789", "seller": "seller-key-0123456789",
		"platform": "platform-key-0123456789", "other-seller": "other-seller-key-0123456789",
		"other-buyer": "other-buyer-key-0123456789",
	}}}
	h.keyList = []api.Key{
		{Key: h.keys["buyer"], Role: models.RoleBuyer, Subject: "buyer-it"},
		{Key: h.keys["other-buyer"], Role: models.RoleBuyer, Subject: "buyer-other"},
		{Key: h.keys["seller"], Role: models.RoleSeller, Subject: "shop-it"},
		{Key: h.keys["other-seller"], Role: models.RoleSeller, Subject: "shop-other"},
		{Key: h.keys["platform"], Role: models.RolePlatform, Subject: "agent-it"},
	}
	keys, err := api.NewKeys(h.keyList)
	if err != nil {
		return 0, err
	}
	policy := models.DefaultPolicy()
	policy.Version = "it-1"
	// The package's tests open hundreds of tickets for buyer-it: counted as
	// recent returns they would end fast review for every later test. The
	// counting itself is TestBuyerRiskDecidesFastReview's, with buyers of its own.
	policy.FastReview.MaxRecentReturns = 1000
	h.cfg = api.Config{Temporal: tc, Namespace: srv.Namespace(), Store: db, Keys: keys, Policy: policy,
		CourierWebhookKeys: courierKeys, PaymentWebhookKeys: paymentKeys, Logger: logger,
		// The tests' keys send far more than a person would; TestRateLimit has its own.
		RateLimit: 100_000, RateBurst: 100_000}
	hs := httptest.NewServer(api.New(h.cfg).Handler())
	defer hs.Close()
	h.url = hs.URL

	courier, payment, ledger, stop := manualProviders(h.url, courierKeys, paymentKeys)
	defer stop()
	h.payments = ledger
	w := worker.New(tc, &activities.Activities{Store: db, Ledger: db, Parcels: db, Courier: courier, Payment: payment})
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	return m.Run(), nil
}

var shopSeq atomic.Int64

// newShop gives a test a shop of its own: a fresh shop id and a server (same
// Temporal, same read model) on which "seller" is that shop's seller. Shop-wide
// views (reports, warnings, export) then hold only the test's own tickets, so what
// they show and their limits do not depend on the tests run before (-count,
// -shuffle). The id is unique in this process, whose Temporal server and read
// model are its own.
func newShop(t *testing.T) (string, endpoint) {
	t.Helper()
	id := fmt.Sprintf("shop-it-%d", shopSeq.Add(1))
	e := endpoint{keys: maps.Clone(h.keys)}
	e.keys["seller"] = "seller-key-" + id + "-0123456789"
	keys, err := api.NewKeys(append(slices.Clone(h.keyList), api.Key{Key: e.keys["seller"], Role: models.RoleSeller, Subject: id}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Keys = keys
	hs := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return id, e
}

// call sends a JSON request to the shared server as the named key and decodes the
// answer into out.
func call(t *testing.T, method, path, key string, body any, out any, headers ...string) int {
	t.Helper()
	return h.call(t, method, path, key, body, out, headers...)
}

// call sends a JSON request to e as the named key and decodes the answer into out.
func (e endpoint) call(t *testing.T, method, path, key string, body any, out any, headers ...string) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.([]byte)
		if !ok {
			raw, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[key])
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
	conforms(t, req, res.StatusCode, res.Header, raw)
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

// postWebhook posts a webhook body signed as its provider signs and returns the status.
func postWebhook(t *testing.T, path string, body interface{ ID() string }) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	return call(t, http.MethodPost, path, "", raw, nil, webhookHeaders(path, body.ID(), raw)...)
}

// webhookHeaders signs raw as the provider of path does (Standard Webhooks).
func webhookHeaders(path, id string, raw []byte) []string {
	keys := h.courierKeys
	if strings.HasSuffix(path, "/payment") {
		keys = h.paymentKeys
	}
	return signedBy(keys, id, time.Now(), raw)
}

// signedBy is the three Standard Webhooks headers as call takes them.
func signedBy(keys webhook.Keys, id string, at time.Time, raw []byte) []string {
	hd := http.Header{}
	keys.Headers(hd, id, at, raw)
	return []string{webhook.HeaderID, hd.Get(webhook.HeaderID), webhook.HeaderTimestamp, hd.Get(webhook.HeaderTimestamp),
		webhook.HeaderSignature, hd.Get(webhook.HeaderSignature)}
}

var eventSeq atomic.Int64

func courierEvent(t *testing.T, ticketID, typ string) {
	t.Helper()
	ev := models.CourierEvent{EventID: fmt.Sprintf("it-courier-%d", eventSeq.Add(1)), TicketID: ticketID, Type: typ, At: time.Now().UTC()}
	if got := postWebhook(t, "/v1/webhooks/courier", ev); got != http.StatusAccepted {
		t.Fatalf("courier webhook %s: status %d", typ, got)
	}
}

// paymentEvent posts the provider's answer for key once the ticket has sent it (a
// provider can only answer a payment it was asked for: before that the ledger
// does not hold the key and the webhook is refused).
func paymentEvent(t *testing.T, ticketID, key string, status models.MoneyStatus) {
	t.Helper()
	waitSent(t, ticketID, key)
	ev := models.PaymentEvent{EventID: fmt.Sprintf("it-pay-%d", eventSeq.Add(1)), TicketID: ticketID, RefundKey: key, Status: status, ProviderRef: "ref-" + key}
	if got := postWebhook(t, "/v1/webhooks/payment", ev); got != http.StatusAccepted {
		t.Fatalf("payment webhook: status %d", got)
	}
}

// waitSent waits until the ticket shows key handed to the provider.
func waitSent(t *testing.T, ticketID, key string) {
	t.Helper()
	eventually(t, fmt.Sprintf("ticket %s sends %s", ticketID, key), func() (bool, string) {
		tk := getTicket(t, ticketID)
		i := tk.Refunds.Find(key)
		return i >= 0 && tk.Refunds[i].Status != models.RefundPending, fmt.Sprintf("%+v", tk.Refunds)
	})
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

// reportMargin is how long before the test binary's -timeout eventually gives up,
// so the test fails with what it last saw instead of the binary's timeout panic.
const reportMargin = 5 * time.Second

// noDeadlineWait bounds eventually when go test runs with -timeout 0 (no
// deadline): go test's default timeout.
const noDeadlineWait = 10 * time.Minute

// eventually waits until cond holds, polling with a short backoff, and fails the
// test if it never does. It is for effects the product applies asynchronously
// (webhook Signals, visibility indexing) with no promised time bound, so the only
// bound is the test's own deadline: a fixed wall-clock bound is a guess that a
// loaded machine misses. cond reports whether it holds and what it saw, for the
// failure message.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline, ok := t.Deadline()
	if ok {
		deadline = deadline.Add(-reportMargin)
	} else {
		deadline = time.Now().Add(noDeadlineWait)
	}
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		done, saw := cond()
		if done {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("%s: not by the test deadline; last seen: %s", what, saw)
		}
		time.Sleep(min(wait, time.Until(deadline)))
	}
}

// waitState waits until the read model shows the ticket in state (webhooks are
// Signals, applied asynchronously).
func waitState(t *testing.T, id string, state models.State) models.Ticket {
	t.Helper()
	var tk models.Ticket
	eventually(t, fmt.Sprintf("ticket %s reaches %s", id, state), func() (bool, string) {
		tk = getTicket(t, id)
		if tk.State.Terminal() && tk.State != state { // it never will: fail now, not at the deadline
			t.Fatalf("ticket %s ended %s (%s), want %s; timeline %+v", id, tk.State, tk.Outcome, state, tk.Timeline)
		}
		return tk.State == state, fmt.Sprintf("state %s, timeline %+v", tk.State, tk.Timeline)
	})
	return tk
}

var orderSeq atomic.Int64

// newTicket creates a ticket as the buyer and returns it.
func newTicket(t *testing.T, mutate func(*models.CreateTicket)) models.Ticket {
	t.Helper()
	return newTicketOn(t, h.endpoint, mutate)
}

// newTicketOn is newTicket through the server e.
func newTicketOn(t *testing.T, e endpoint, mutate func(*models.CreateTicket)) models.Ticket {
	t.Helper()
	c := models.CreateTicket{
		OrderID: fmt.Sprintf("order-it-%d-%d", time.Now().UnixNano(), orderSeq.Add(1)), ShopID: "shop-it", BuyerID: "buyer-it",
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
	if code := e.call(t, http.MethodPost, "/v1/tickets", "buyer", asBuyer(t, c), &tk); code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	return tk
}

// asBuyer registers what a create states of the order and the buyer's credit as
// the shop's order system and the platform would (PUT /v1/orders, PUT
// /v1/buyers), and returns the create as a buyer sends it: naming the order only.
func asBuyer(t *testing.T, c models.CreateTicket) models.CreateTicket {
	t.Helper()
	registerOrder(t, c)
	if code := call(t, http.MethodPut, "/v1/buyers/"+c.BuyerID, "platform", map[string]any{"credit": c.BuyerCredit}, nil); code != http.StatusOK {
		t.Fatalf("register buyer %s: status %d", c.BuyerID, code)
	}
	c.Order, c.BuyerCredit = models.OrderInfo{}, 0
	return c
}

// registerOrder puts the order record a create c refers to.
func registerOrder(t *testing.T, c models.CreateTicket) models.Order {
	t.Helper()
	facts := c.StatedFacts()
	var o models.Order
	if code := call(t, http.MethodPut, "/v1/orders/"+c.OrderID, "platform", facts, &o); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("register order %s: status %d", c.OrderID, code)
	}
	return o
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
