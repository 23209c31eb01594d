// Package providerapitest is a fake provider JSON API for tests of the provider
// adapters: it records every request and answers as the test says. Stalled is a
// provider that never answers, for the tests of the per-attempt timeout.
package providerapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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

// Stalled is a provider that never answers. As the http.RoundTripper of a client it
// counts each attempt, then waits until the attempt's context ends and fails with its
// error. An attempt is counted before it can time out, however slow the machine is,
// which a server cannot promise: a short timeout may end an attempt before the server
// has seen it. The zero value is ready to use.
type Stalled struct{ attempts atomic.Int32 }

// Client returns an http.Client whose requests go to s.
func (s *Stalled) Client() *http.Client { return &http.Client{Transport: s} }

// Attempts is how many requests s has received.
func (s *Stalled) Attempts() int { return int(s.attempts.Load()) }

// RoundTrip counts r and waits for its context to end.
func (s *Stalled) RoundTrip(r *http.Request) (*http.Response, error) {
	s.attempts.Add(1)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}
