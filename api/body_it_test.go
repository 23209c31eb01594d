package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
)

// bodyRoute is a route that reads a body, and the headers that get a request
// as far as reading it (a key, or nothing for the signed webhooks).
type bodyRoute struct {
	name, method, path, headers string
}

// bodyRoutes is every route that reads a body; tk is a ticket for the action.
func bodyRoutes(tk string) []bodyRoute {
	auth := func(key string) string { return "Authorization: Bearer " + h.keys[key] + "\r\n" }
	order := fmt.Sprintf("o-body-%d", orderSeq.Add(1))
	return []bodyRoute{
		{"create", "POST", "/v1/tickets", auth("buyer")},
		{"create under an Idempotency-Key", "POST", "/v1/tickets", auth("buyer") + "Idempotency-Key: body-" + order + "\r\n"},
		{"action", "POST", "/v1/tickets/" + tk + "/reply", auth("seller")},
		{"order record", "PUT", "/v1/orders/" + order, auth("seller")},
		{"buyer record", "PUT", "/v1/buyers/buyer-body", auth("platform")},
		{"shipping watch", "POST", "/v1/orders/" + order + "/shipping-watch", auth("seller")},
		{"courier webhook", "POST", "/v1/webhooks/courier", ""},
		{"payment webhook", "POST", "/v1/webhooks/payment", ""},
	}
}

// head is the request line and headers of r, without the framing of its body.
func (r bodyRoute) head() string {
	return r.method + " " + r.path + " HTTP/1.1\r\nHost: aftersales.test\r\nContent-Type: application/json\r\n" + r.headers
}

// A body that arrives incomplete is the client's fault: a 400 that says so,
// never a 500 and never an ERROR line in the log, on every route that reads a
// body, the unauthenticated webhooks included. Sent over real TCP as raw bytes.
func TestIncompleteBodiesAre400(t *testing.T) {
	logs := &errorLog{}
	cfg := h.cfg
	cfg.Logger = slog.New(logs)
	hs := httptest.NewServer(api.New(cfg).Handler())
	defer hs.Close()
	addr := hs.Listener.Addr().String()
	tk := newTicket(t, nil).ID
	framings := []struct{ name, framing string }{
		{"cut off before its Content-Length", "Content-Length: 1000\r\n\r\n{\"or"},
		{"a chunk length that is not hex", "Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"order_id\":\"o-1\"}\r\n0\r\n\r\n"},
		{"cut off inside a chunk", "Transfer-Encoding: chunked\r\n\r\n40\r\n{\"order_id\":"},
		{"cut off before the last chunk", "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"},
	}
	routes := bodyRoutes(tk)
	for _, r := range routes {
		for _, f := range framings {
			t.Run(r.name+"/"+f.name, func(t *testing.T) {
				before := logs.count()
				answers := rawExchange(t, addr, r.head()+f.framing, true)
				if len(answers) != 1 {
					t.Fatalf("%d answers, want 1: %+v", len(answers), answers)
				}
				var e apiError
				_ = json.Unmarshal(answers[0].body, &e)
				if a := answers[0]; a.status != http.StatusBadRequest || e.Error.Code != models.EMALFORMED || e.Error.Message == "" {
					t.Errorf("answer %d %s, want 400 %s with a message", a.status, a.body, models.EMALFORMED)
				}
				if lines := logs.since(before); len(lines) > 0 {
					t.Errorf("a client's incomplete body was logged as an error: %q", lines)
				}
			})
		}
	}
	if code := call(t, http.MethodGet, routes[3].path+"?shop_id=shop-it", "platform", nil, nil); code != http.StatusNotFound {
		t.Errorf("an order after its incomplete PUT: %d, want 404", code)
	}
}

// A body that does not arrive within the server's read timeout is a 408, on
// the real server (Serve, with its timeouts) and over real TCP. The client
// sends its headers and part of the body and then waits: no sleep in the
// test, the server's timeout ends the wait.
func TestSlowBodyIs408(t *testing.T) {
	logs := &errorLog{}
	cfg := h.cfg
	cfg.Logger = slog.New(logs)
	cfg.ReadTimeout = time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.New(cfg).Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	for _, r := range bodyRoutes("AS-none") {
		if r.name != "create" && r.name != "courier webhook" && r.name != "create under an Idempotency-Key" {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			before := logs.count()
			answers := rawExchange(t, l.Addr().String(), r.head()+"Content-Length: 100\r\n\r\n{\"or", false)
			if len(answers) != 1 {
				t.Fatalf("%d answers, want 1: %+v", len(answers), answers)
			}
			var e apiError
			_ = json.Unmarshal(answers[0].body, &e)
			if a := answers[0]; a.status != http.StatusRequestTimeout || e.Error.Message == "" {
				t.Errorf("answer %d %s, want 408 with a message", a.status, a.body)
			}
			if lines := logs.since(before); len(lines) > 0 {
				t.Errorf("a client's slow body was logged as an error: %q", lines)
			}
		})
	}
}
