package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Parties are the keys the lifecycle is driven with: the shop's seller (who
// registers the order, as its order system would, and acts), the buyer.
type Parties struct {
	Seller, Buyer   string // API keys
	ShopID, BuyerID string // their subjects
}

// Config is one run.
type Config struct {
	API         string // base URL
	Parties     Parties
	Tickets     int
	Concurrency int
	RunID       string // makes order ids and floor ids unique to the run
	// Timeout bounds one lifecycle: a ticket not at its end by then is lost.
	Timeout time.Duration
	// Poll is how often a party looks at a ticket that it waits on.
	Poll time.Duration
	// Restart, when set (--chaos), kills and restarts the worker; it is called
	// at random moments while the lifecycles run.
	Restart func() error
}

// sample collects latencies of one kind of call.
type sample struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sample) add(d time.Duration) { s.mu.Lock(); s.d = append(s.d, d); s.mu.Unlock() }

// caller is an HTTP client that times every call into a sample.
type caller struct {
	api  string
	http *http.Client
}

// do sends a JSON request and decodes a JSON answer; the status is returned.
// With an idempotency key it retries as a client should: on a network error, a
// 5xx, a 429 or a 409 with Retry-After (the first request still runs), under the
// same key, until ctx ends. The sample records the attempt that answered.
func (c *caller) do(ctx context.Context, s *sample, method, path, key string, body, out any, idemKey ...string) (int, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		status, retry, err := c.once(ctx, s, method, path, key, raw, out, idemKey...)
		if !retry || len(idemKey) == 0 || ctx.Err() != nil {
			return status, err
		}
		select {
		case <-ctx.Done():
			return status, err
		case <-time.After(wait):
		}
	}
}

func (c *caller) once(ctx context.Context, s *sample, method, path, key string, raw []byte, out any, idemKey ...string) (status int, retry bool, err error) {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if len(idemKey) > 0 {
		req.Header.Set("Idempotency-Key", idemKey[0])
	}
	t0 := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return 0, true, err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if s != nil {
		s.add(time.Since(t0))
	}
	if res.StatusCode >= 300 {
		retry = res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests ||
			(res.StatusCode == http.StatusConflict && res.Header.Get("Retry-After") != "")
		return res.StatusCode, retry, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(answer))
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return res.StatusCode, false, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, false, nil
}

// ticketView is what the driver reads of a ticket.
type ticketView struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Outcome       string `json:"outcome"`
	RefundedCents int64  `json:"refunded_cents"`
	Evaluation    *struct {
		Score int `json:"score"`
	} `json:"evaluation"`
}

// samples are the latencies a run collects; onCreate is told of each ticket made.
type samples struct {
	create, action, get, floorCreate, floorUpdate sample
	onCreate                                      func()
}

// lifecycle drives one pickup return and refund to its end, as its parties
// would: the shop registers the order, the buyer asks, the seller approves,
// the courier (simulated) picks up and delivers, the seller inspects, the payment
// provider (simulated) pays, the buyer evaluates. It returns the ticket's id and
// whether it reached its end (completed, refunded in full, evaluated).
func lifecycle(ctx context.Context, c *caller, cfg Config, s *samples, i int) (string, bool, error) {
	p := cfg.Parties
	order := fmt.Sprintf("bench-%s-%d", cfg.RunID, i)
	const paid = 59900
	if _, err := c.do(ctx, nil, http.MethodPut, "/v1/orders/"+order, p.Seller, map[string]any{
		"shop_id": p.ShopID, "buyer_id": p.BuyerID, "paid_cents": paid, "currency": "CNY",
		"paid_at": time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339), "shipped_at": time.Now().Add(-60 * time.Hour).UTC().Format(time.RFC3339),
		"delivered_at": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339),
		"items":        []map[string]any{{"sku": "BENCH-1", "qty": 1, "unit_paid_cents": paid}},
	}, nil, order+":order"); err != nil {
		return "", false, err
	}
	var tk ticketView
	if _, err := c.do(ctx, &s.create, http.MethodPost, "/v1/tickets", p.Buyer, map[string]any{
		"order_id": order, "shop_id": p.ShopID, "buyer_id": p.BuyerID, "kind": "return_refund", "reason_code": "quality",
		"reason": "bench", "return_method": "pickup", "pickup_address": "1 Bench Road", "requested_cents": paid, "currency": "CNY",
		"items": []map[string]any{{"sku": "BENCH-1", "qty": 1, "unit_paid_cents": paid}},
	}, &tk, order+":create"); err != nil {
		return "", false, err
	}
	if s.onCreate != nil {
		s.onCreate()
	}
	act := func(key, action string, body any) error {
		_, err := c.do(ctx, &s.action, http.MethodPost, "/v1/tickets/"+tk.ID+"/"+action, key, body, &tk, order+":"+action)
		return err
	}
	wait := func(state string) error {
		for tk.State != state {
			if ctx.Err() != nil {
				return fmt.Errorf("ticket %s: still %s, waiting for %s: %w", tk.ID, tk.State, state, ctx.Err())
			}
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Poll):
			}
			// A failed look (the server restarting) is looked again at the next poll.
			_, _ = c.do(ctx, &s.get, http.MethodGet, "/v1/tickets/"+tk.ID, p.Seller, nil, &tk)
		}
		return nil
	}
	steps := []func() error{
		func() error { return act(p.Seller, "approve", map[string]any{}) },
		func() error { return wait("awaiting_inspection") },
		func() error { return act(p.Seller, "inspect", map[string]any{"result": "pass"}) },
		func() error { return wait("completed") },
		func() error { return act(p.Buyer, "evaluate", map[string]any{"score": 5, "comment": "bench"}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return tk.ID, false, err
		}
	}
	return tk.ID, tk.State == "completed" && tk.Outcome == "refunded" && tk.RefundedCents == paid && tk.Evaluation != nil, nil
}

// floorLifecycle drives the floor workflow through the same round trips.
func floorLifecycle(ctx context.Context, c *caller, cfg Config, s *samples, i int) error {
	id := fmt.Sprintf("%s-%d", cfg.RunID, i)
	base := "/bench/floor/" + id
	if _, err := c.do(ctx, &s.floorCreate, http.MethodPost, base, "", nil, nil); err != nil {
		return err
	}
	calls := []struct {
		path string
		s    *sample
	}{
		{"/update", &s.floorUpdate}, {"/signal", nil}, {"/signal", nil},
		{"/update", &s.floorUpdate}, {"/signal", nil}, {"/update", &s.floorUpdate},
	}
	for _, call := range calls {
		if _, err := c.do(ctx, call.s, http.MethodPost, base+call.path, "", nil, nil); err != nil {
			return err
		}
	}
	_, err := c.do(ctx, nil, http.MethodGet, base+"/result", "", nil, nil)
	return err
}

// fanOut runs n jobs on conc goroutines and returns how long they took.
func fanOut(ctx context.Context, n, conc int, job func(ctx context.Context, i int)) time.Duration {
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				job(ctx, i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return time.Since(start)
}
