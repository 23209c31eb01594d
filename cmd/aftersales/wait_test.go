package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it reports true, backing off from 20 ms to 500 ms. It is
// bounded only by the test's own deadline (go test -timeout) less a margin to
// report in: a loaded machine may need long, and a condition that never comes
// fails with cond's last description. A value on failed (the error the thing
// under test returned, when it stopped) ends the wait at once.
func waitFor(t *testing.T, failed <-chan error, what string, cond func() (bool, string)) {
	t.Helper()
	limit := testLimit(t)
	pause := 20 * time.Millisecond
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(limit) {
			t.Fatalf("%s: not by the test's deadline; last seen: %s", what, last)
		}
		select {
		case err := <-failed:
			t.Fatalf("%s: stopped while waiting: %v (last seen: %s)", what, err, last)
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// testLimit is when a wait gives up: the test binary's deadline less a tenth of
// the time left (at most a minute), so the failure is reported before go test
// kills the binary; ten minutes from now without a deadline.
func testLimit(t *testing.T) time.Time {
	d, ok := t.Deadline()
	if !ok {
		return time.Now().Add(10 * time.Minute)
	}
	return d.Add(-min(time.Until(d)/10, time.Minute))
}

// front is a stable address in front of a runtime whose own address changes when
// it restarts, as a provider's load balancer is: webhooks sent to it while no
// target is set get 502, which senders retry.
type front struct {
	URL    string
	target atomic.Pointer[url.URL]
}

// newFront listens on a free loopback port for the whole test.
func newFront(t *testing.T) *front {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{URL: "http://" + l.Addr().String()}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			if u := f.target.Load(); u != nil {
				r.SetURL(u)
			}
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "no runtime behind the front: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

// point sends the front's traffic to base, e.g. a runtime's apiURL; "" to none.
func (f *front) point(t *testing.T, base string) {
	t.Helper()
	if base == "" {
		f.target.Store(nil)
		return
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	f.target.Store(u)
}
