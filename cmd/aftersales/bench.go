package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// runBench creates tickets against a running API and reports throughput and
// latency percentiles. It only talks to the address it is given.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "API base URL")
	key := fs.String("key", "", "a seller or platform API key (see the keys file)")
	shop := fs.String("shop", "shop-1", "shop_id of the tickets (a seller key must own it)")
	n := fs.Int("tickets", 200, "how many tickets to create")
	conc := fs.Int("concurrency", 8, "requests in flight")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *key == "" || *n < 1 || *conc < 1 {
		return fmt.Errorf("set --key, and --tickets and --concurrency of at least 1")
	}
	jobs := make(chan int)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		firstErr  error
	)
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d, err := createOne(ctx, client, *url, *key, *shop, i, start)
				mu.Lock()
				if err != nil {
					failures++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Fprintf(os.Stdout, "created %d tickets in %s (%.1f/s), %d failed; latency p50 %s p90 %s p99 %s max %s\n",
		len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(), failures,
		pct(0.5).Round(time.Millisecond), pct(0.9).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	if firstErr != nil {
		fmt.Fprintln(os.Stdout, "first error:", firstErr)
	}
	return nil
}

func createOne(ctx context.Context, c *http.Client, url, key, shop string, i int, run time.Time) (time.Duration, error) {
	body, _ := json.Marshal(map[string]any{
		"order_id": fmt.Sprintf("bench-%d-%d", run.Unix(), i), "shop_id": shop, "buyer_id": fmt.Sprintf("bench-buyer-%d", i%50),
		"kind": "return_refund", "reason_code": "no_reason", "return_method": "self_ship",
		"requested_cents": 59900, "currency": "CNY", "buyer_credit": 1,
		"order": map[string]any{"paid_cents": 59900, "paid_at": run.UTC().Format(time.RFC3339)},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		var e map[string]any
		_ = json.NewDecoder(res.Body).Decode(&e)
		return 0, fmt.Errorf("status %d: %v", res.StatusCode, e)
	}
	return time.Since(t0), nil
}
