package providerapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/activities/providerapi/providerapitest"
	"github.com/aftersales/aftersales/activities/webhook"
)

// client calls p. Its per-attempt timeout is too long to fire, so that on a slow
// machine no attempt is retried that the test does not expect; TestDoTimeoutIsRetried
// sets its own.
func client(p *providerapitest.Provider) *providerapi.Client {
	return &providerapi.Client{Name: "test", BaseURL: p.URL + "/v1/", APIKey: "k-1", Timeout: time.Hour,
		Backoff: webhook.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}}
}

func TestDoSendsAndDecodes(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) { return http.StatusCreated, `{"id":"B1"}` })
	var out struct{ ID string }
	if err := client(p).Do(context.Background(), http.MethodPost, "/things", "K1", map[string]int{"n": 1}, &out); err != nil || out.ID != "B1" {
		t.Fatalf("%+v, %v", out, err)
	}
	if err := client(p).Do(context.Background(), http.MethodGet, "/things/B1", "", nil, nil); err != nil {
		t.Fatal(err)
	}
	reqs := p.Requests()
	if r := reqs[0]; r.Method != http.MethodPost || r.Path != "/v1/things" || r.Auth != "Bearer k-1" || r.Key != "K1" || string(r.Body) != `{"n":1}` {
		t.Fatalf("POST %+v", r)
	}
	if r := reqs[1]; r.Method != http.MethodGet || r.Key != "" || len(r.Body) != 0 {
		t.Fatalf("GET %+v", r)
	}
}

func TestDoRetries500WithSameKeyAndBody(t *testing.T) {
	p := providerapitest.New(t, func(n int, _ *http.Request) (int, string) {
		if n < 3 {
			return http.StatusInternalServerError, `{"error":"busy"}`
		}
		return http.StatusOK, `{}`
	})
	if err := client(p).Do(context.Background(), http.MethodPost, "/things", "K1", map[string]int{"n": 1}, nil); err != nil {
		t.Fatal(err)
	}
	reqs := p.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.Key != "K1" || string(r.Body) != `{"n":1}` {
			t.Fatalf("retry %+v", r)
		}
	}
}

func TestDoFinalAnswerIsBareError(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) {
		return http.StatusBadRequest, `{"error":"address is required"}`
	})
	err := client(p).Do(context.Background(), http.MethodPost, "/things", "K1", 1, nil)
	if providerapi.Status(err) != http.StatusBadRequest || err.Error() != `test API POST /things answered 400 Bad Request: {"error":"address is required"}` {
		t.Fatalf("err = %v", err)
	}
	if n := len(p.Requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestDoGivesUpAfterRetries(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) { return http.StatusBadGateway, "down" })
	c := client(p)
	c.Retries = 2
	err := c.Do(context.Background(), http.MethodGet, "/x", "", nil, nil)
	var pe *providerapi.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusBadGateway || providerapi.Status(err) != 0 || !strings.HasPrefix(err.Error(), "gave up after 3 tries: ") {
		t.Fatalf("err = %v", err)
	}
	if n := len(p.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestDoTimeoutIsRetried(t *testing.T) {
	var p providerapitest.Stalled
	c := &providerapi.Client{Name: "test", BaseURL: "http://provider.test/v1", Timeout: 50 * time.Millisecond, Retries: 1,
		Backoff: webhook.Backoff{Min: time.Millisecond}, HTTPClient: p.Client()}
	if err := c.Do(context.Background(), http.MethodGet, "/x", "", nil, nil); err == nil || !strings.Contains(err.Error(), "test API GET /x: no answer within 50ms") {
		t.Fatalf("err = %v", err)
	}
	if n := p.Attempts(); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func TestDoBadAnswer(t *testing.T) {
	p := providerapitest.New(t, func(int, *http.Request) (int, string) { return http.StatusOK, `not json` })
	var out struct{}
	if err := client(p).Do(context.Background(), http.MethodGet, "/x", "", nil, &out); err == nil || !strings.HasPrefix(err.Error(), "test API GET /x: answer is not the expected JSON: ") {
		t.Fatalf("err = %v", err)
	}
}
