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
	LatenessP50Ms float64  `json:"lateness_p50_ms"` // fired at minus due at
	LatenessP99Ms float64  `json:"lateness_p99_ms"`
	LatenessMaxMs float64  `json:"lateness_max_ms"`
	RSSPerOpenKB  float64  `json:"rss_per_open_kb"` // resident memory added per open ticket
	PeakRSSMB     float64  `json:"peak_rss_mb"`
	Errors        []string `json:"errors"`
}

// Open opens n refund-only tickets (pending review; the stack's policy gives
// review_by the deadline after creation), their creation staggered by the rate
// at which the server takes them, waits until every review_by has passed, and
// reads from each ticket's timeline when its deadline fired: the auto-approval
// at review_by (DESIGN §2, timeline action auto_approve) is stamped with the
// workflow time its timer fired.
func Open(ctx context.Context, cfg Config, n int, deadline time.Duration) OpenReport {
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
			"order_id": order, "shop_id": p.ShopID, "buyer_id": p.BuyerID, "kind": "refund_only", "reason_code": "not_received",
			"requested_cents": 10000, "currency": "CNY"}, &tk, order+":create"); err != nil {
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
	select { // every deadline has passed, and a little for the last to be handled
	case <-ctx.Done():
	case <-time.After(time.Until(last) + 5*time.Second):
	}
	var late []time.Duration
	ids := make([]string, 0, len(due))
	for id := range due {
		ids = append(ids, id)
	}
	fanOut(ctx, len(ids), cfg.Concurrency, func(ctx context.Context, i int) {
		var tk struct {
			Timeline []struct {
				At     time.Time `json:"at"`
				Action string    `json:"action"`
				Actor  string    `json:"actor"`
			} `json:"timeline"`
		}
		if _, err := c.do(ctx, nil, http.MethodGet, "/v1/tickets/"+ids[i], p.Seller, nil, &tk); err != nil {
			fail(err)
			return
		}
		for _, e := range tk.Timeline {
			if e.Action == "auto_approve" {
				mu.Lock()
				late = append(late, e.At.Sub(due[ids[i]]))
				mu.Unlock()
				return
			}
		}
		fail(fmt.Errorf("ticket %s: review_by passed %s ago and did not fire", ids[i], time.Since(due[ids[i]]).Round(time.Second)))
	})
	r.Fired = len(late)
	slices.Sort(late)
	ms := func(p float64) float64 {
		if len(late) == 0 {
			return 0
		}
		return float64(late[min(len(late)-1, int(p*float64(len(late))))].Microseconds()) / 1000
	}
	r.LatenessP50Ms, r.LatenessP99Ms, r.LatenessMaxMs = ms(0.5), ms(0.99), ms(1)
	r.PeakRSSMB = peakRSSMB()
	return r
}
