package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// OpenReport is what a timer-scale run (--open N) measured.
type OpenReport struct {
	Open          int      `json:"open"`            // tickets open at once, each waiting on its deadline
	Deadline      string   `json:"deadline"`        // how long after its creation each deadline falls
	CreateSeconds float64  `json:"create_seconds"`  // how long opening them took
	Fired         int      `json:"fired"`           // deadlines seen fired
	Unfired       int      `json:"unfired"`         // not fired by --open-wait after the last was due: counted late by that much
	LatenessP50Ms float64  `json:"lateness_p50_ms"` // fired at minus due at
	LatenessP99Ms float64  `json:"lateness_p99_ms"`
	LatenessMaxMs float64  `json:"lateness_max_ms"`
	RSSPerOpenKB  float64  `json:"rss_per_open_kb"` // resident memory added per open ticket
	PeakRSSMB     float64  `json:"peak_rss_mb"`
	Errors        []string `json:"errors"`
}

// Open opens n self-ship return tickets (pending review; the stack's policy gives
// review_by the deadline after creation), their creation staggered by the rate
// at which the server takes them. When review_by passes, the ticket is approved
// and waits for the buyer's parcel: the deadline's own work, with no effect
// behind it, so what is measured is the firing, not the work a refund would add.
// It waits until every review_by has passed and reads from each ticket's timeline when its deadline fired: the auto-approval
// at review_by (DESIGN §2, timeline action auto_approve) is stamped with the
// workflow time its timer fired.
func Open(ctx context.Context, cfg Config, n int, deadline, maxWait time.Duration) OpenReport {
	r := OpenReport{Open: n, Deadline: deadline.String(), Errors: []string{}}
	c := &caller{api: strings.TrimRight(cfg.API, "/"), http: &http.Client{Timeout: 2 * time.Minute}}
	var mu sync.Mutex
	due := map[string]time.Time{}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(r.Errors) < 5 {
			r.Errors = append(r.Errors, err.Error())
		}
	}
	before := rssKB()
	start := time.Now()
	p := cfg.Parties
	fanOut(ctx, n, cfg.Concurrency, func(ctx context.Context, i int) {
		order := fmt.Sprintf("open-%s-%d", cfg.RunID, i)
		if _, err := c.do(ctx, nil, http.MethodPut, "/v1/orders/"+order, p.Seller, map[string]any{
			"shop_id": p.ShopID, "buyer_id": p.BuyerID, "paid_cents": 10000, "currency": "CNY",
			"paid_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, nil, order+":order"); err != nil {
			fail(err)
			return
		}
		var tk struct {
			ID       string `json:"id"`
			Deadline *struct {
				Name string    `json:"name"`
				At   time.Time `json:"at"`
			} `json:"deadline"`
		}
		if _, err := c.do(ctx, nil, http.MethodPost, "/v1/tickets", p.Buyer, map[string]any{
			"order_id": order, "shop_id": p.ShopID, "buyer_id": p.BuyerID, "kind": "return_refund", "reason_code": "no_reason",
			"return_method": "self_ship", "requested_cents": 10000, "currency": "CNY"}, &tk, order+":create"); err != nil {
			fail(err)
			return
		}
		if tk.Deadline == nil || tk.Deadline.Name != "review_by" {
			fail(fmt.Errorf("ticket %s opened without review_by", tk.ID))
			return
		}
		mu.Lock()
		due[tk.ID] = tk.Deadline.At
		mu.Unlock()
	})
	r.CreateSeconds = time.Since(start).Seconds()
	if n > 0 {
		r.RSSPerOpenKB = float64(rssKB()-before) / float64(n)
	}
	var last time.Time
	for _, at := range due {
		if at.After(last) {
			last = at
		}
	}
	// Look at each ticket once its deadline has passed, again until it fired or
	// maxWait has passed since the last deadline; one that never fired counts
	// with the lateness it had when the run gave up on it.
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(last) + time.Second):
	}
	var late []time.Duration
	pending := make([]string, 0, len(due))
	for id := range due {
		pending = append(pending, id)
	}
	giveUp := last.Add(maxWait)
	for len(pending) > 0 && ctx.Err() == nil {
		var still []string
		fanOut(ctx, len(pending), cfg.Concurrency, func(ctx context.Context, i int) {
			id := pending[i]
			var tk struct {
				Timeline []struct {
					At     time.Time `json:"at"`
					Action string    `json:"action"`
				} `json:"timeline"`
			}
			if _, err := c.do(ctx, nil, http.MethodGet, "/v1/tickets/"+id, p.Seller, nil, &tk); err != nil {
				fail(err)
			}
			for _, e := range tk.Timeline {
				if e.Action == "auto_approve" {
					mu.Lock()
					late = append(late, e.At.Sub(due[id]))
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			still = append(still, id)
			mu.Unlock()
		})
		pending = still
		if time.Now().After(giveUp) {
			for _, id := range pending {
				late = append(late, time.Since(due[id]))
			}
			r.Unfired = len(pending)
			if len(pending) > 0 {
				fail(fmt.Errorf("%d deadlines had not fired %s after the last was due", len(pending), maxWait))
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	r.Fired = len(late) - r.Unfired
	slices.Sort(late)
	r.LatenessP50Ms, r.LatenessP99Ms, r.LatenessMaxMs = percentileMs(late, 0.5), percentileMs(late, 0.99), percentileMs(late, 1)
	r.PeakRSSMB = peakRSSMB()
	return r
}
