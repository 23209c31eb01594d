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
func (c *caller) do(ctx context.Context, s *sample, method, path, key string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	t0 := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if s != nil {
		s.add(time.Since(t0))
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	return res.StatusCode, nil
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

// samples are the latencies a run collects.
type samples struct{ create, action, get, floorCreate, floorUpdate sample }

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
	}, nil); err != nil {
		return "", false, err
	}
	var tk ticketView
	if _, err := c.do(ctx, &s.create, http.MethodPost, "/v1/tickets", p.Buyer, map[string]any{
		"order_id": order, "shop_id": p.ShopID, "buyer_id": p.BuyerID, "kind": "return_refund", "reason_code": "quality",
		"reason": "bench", "return_method": "pickup", "pickup_address": "1 Bench Road", "requested_cents": paid, "currency": "CNY",
		"items": []map[string]any{{"sku": "BENCH-1", "qty": 1, "unit_paid_cents": paid}},
	}, &tk); err != nil {
		return "", false, err
	}
	act := func(key, action string, body any) error {
		_, err := c.do(ctx, &s.action, http.MethodPost, "/v1/tickets/"+tk.ID+"/"+action, key, body, &tk)
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
			if _, err := c.do(ctx, &s.get, http.MethodGet, "/v1/tickets/"+tk.ID, p.Seller, nil, &tk); err != nil && ctx.Err() == nil {
				return err
			}
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
