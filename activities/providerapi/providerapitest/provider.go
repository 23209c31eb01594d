// Package providerapitest is a fake provider JSON API for tests of the provider
// adapters: it records every request and answers as the test says.
package providerapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one request the fake provider received.
type Request struct {
	Method string
	Path   string // escaped, as sent
	Auth   string // the Authorization header
	Key    string // the Idempotency-Key header
	Body   []byte
}

// Reply answers the n-th request (n counts from 1) with a status and a JSON body.
type Reply func(n int, r *http.Request) (status int, body string)

// Provider is the fake API; its Server is closed when the test ends.
type Provider struct {
	*httptest.Server
	reply Reply
	mu    sync.Mutex
	reqs  []Request
}

// New starts a fake provider that answers with reply (as application/json).
func New(t *testing.T, reply Reply) *Provider {
	t.Helper()
	p := &Provider{reply: reply}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.reqs = append(p.reqs, Request{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), body})
	n := len(p.reqs)
	p.mu.Unlock()
	status, out := p.reply(n, r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}

// Requests returns a copy of the requests received so far, in order.
func (p *Provider) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}
