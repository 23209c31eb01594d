package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aftersales/aftersales/api"
)

// FuzzRequestBodies: whatever body a client sends to the create, an action or a
// record endpoint, the answer is never a 5xx (and the server does not panic: a
// panic would be a 500 from the recovery middleware). Seeds in testdata/fuzz run
// in every `go test`; `go test ./api -fuzz FuzzRequestBodies` explores further.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"order_id":`, `[]`, `null`, `"text"`, `{"order_id":"o-1","shop_id":"shop-it","buyer_id":"buyer-it","kind":"refund_only","requested_cents":100}`,
		`{"requested_cents":1e309}`, `{"requested_cents":-9223372036854775808}`, `{"order":{"paid_cents":9223372036854775807}}`,
		`{"reason":"` + "\u202e\u0000" + `"}`, `{"items":[{"sku":"=cmd","qty":2147483648}]}`, `{"extend":"213504d","reason":"x"}`,
		`{"urls":["javascript:alert(1)"],"note":"x"}`, `{"credit":99}`, `{"paid_at":"yesterday"}`,
	} {
		f.Add(seed)
	}
	tk := ""
	f.Fuzz(func(t *testing.T, body string) {
		if tk == "" {
			tk = newTicket(t, nil).ID
		}
		for _, r := range []struct{ method, path, key string }{
			{http.MethodPost, "/v1/tickets", "buyer"},
			{http.MethodPost, "/v1/tickets/" + tk + "/report_delay", "seller"},
			{http.MethodPost, "/v1/tickets/" + tk + "/evidence", "buyer"},
			{http.MethodPut, "/v1/orders/o-fuzz", "seller"},
			{http.MethodPut, "/v1/buyers/buyer-fuzz", "platform"},
		} {
			if code := call(t, r.method, r.path, r.key, []byte(body), nil); code >= 500 {
				t.Fatalf("%s %s with %q answered %d", r.method, r.path, body, code)
			}
		}
	})
}

// rawSeeds are requests as bytes on the wire; {buyer}, {seller}, {platform}
// stand for the keys and {ticket} for a ticket of the buyer's.
var rawSeeds = []string{
	// A body cut off before its Content-Length, on each kind of route.
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\nContent-Length: 1000\r\n\r\n{\"or",
	"POST /v1/webhooks/courier HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{\"ev",
	"PUT /v1/orders/o-raw HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {seller}\r\nContent-Length: 50\r\n\r\n{}",
	"POST /v1/tickets/{ticket}/reply HTTP/1.1\r\nHost: a\r\nAuthorization: bearer {seller}\r\nIdempotency-Key: raw-1\r\nContent-Length: 9\r\n\r\n{\"me",
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n{",
	// Chunking: a length that is not hex, one that overflows, a chunk cut off,
	// no last chunk, an extension, a trailer.
	"POST /v1/webhooks/payment HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
	"PUT /v1/buyers/b-raw HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {platform}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
	"POST /v1/orders/o-raw/shipping-watch HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {seller}\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"shop_id\":",
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
	"PUT /v1/buyers/b-raw HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {platform}\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n",
	// Framing the server refuses before any handler: both framings, two
	// lengths, a negative one, one over the body limit, a header without a colon.
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
	"POST /v1/webhooks/courier HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n{}",
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\nContent-Length: 2000000\r\n\r\n{}",
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization Bearer {buyer}\r\n\r\n",
	// Whole requests: a field of the wrong case, then two in one connection.
	"PUT /v1/orders/o-raw HTTP/1.1\r\nHost: a\r\nAuthorization: BEARER {seller}\r\nContent-Length: 16\r\n\r\n{\"Paid_Cents\":1}",
	"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nPOST /v1/webhooks/courier HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n{",
	"HEAD /v1/tickets/{ticket} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {buyer}\r\n\r\n",
	// What HTTP/1.1 itself does not implement: net/http's own 501 and 505.
	"POST /v1/tickets HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n{}",
	"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n",
}

// FuzzRawRequests: whatever bytes a client sends (headers, chunking, lengths,
// bodies cut off), the server never answers 5xx and never logs an ERROR. The
// only 5xx allowed are net/http's own plain-text 501 and 505, for a transfer
// coding or an HTTP version that HTTP/1.1 servers do not implement (RFC 9112
// §6.1, RFC 9110 §15.6.6), given before any handler runs. Over real TCP: the
// client half-closes after its bytes. Seeds run in every `go test`; `go test
// ./api -run '^$' -fuzz FuzzRawRequests` explores further.
func FuzzRawRequests(f *testing.F) {
	for _, seed := range rawSeeds {
		f.Add(seed)
	}
	logs := &errorLog{}
	cfg := h.cfg
	cfg.Logger = slog.New(logs)
	hs := httptest.NewServer(api.New(cfg).Handler())
	f.Cleanup(hs.Close)
	tk := ""
	f.Fuzz(func(t *testing.T, raw string) {
		if tk == "" {
			tk = newTicket(t, nil).ID
		}
		raw = strings.NewReplacer("{buyer}", h.keys["buyer"], "{seller}", h.keys["seller"],
			"{platform}", h.keys["platform"], "{ticket}", tk).Replace(raw)
		before := logs.count()
		for _, a := range rawExchange(t, hs.Listener.Addr().String(), raw, true) {
			protocol := (a.status == http.StatusNotImplemented || a.status == http.StatusHTTPVersionNotSupported) &&
				strings.HasPrefix(a.contentType, "text/plain")
			if a.status >= 500 && !protocol {
				t.Fatalf("%q answered %d %s", raw, a.status, a.body)
			}
		}
		if lines := logs.since(before); len(lines) > 0 {
			t.Fatalf("%q was logged as an error: %q", raw, lines)
		}
	})
}
