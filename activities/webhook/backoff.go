package webhook

import (
	"context"
	"time"
)

// Backoff is a bounded exponential retry schedule: the wait before retry n (n ≥ 1)
// is Min·2^(n-1), capped at Max. The provider adapters share it with Sender.
type Backoff struct {
	Min time.Duration // first wait; 200ms when zero
	Max time.Duration // longest wait; 5s when zero
}

// Delay returns the wait before retry n (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 200 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Wait sleeps Delay(n), returning ctx's error early if ctx ends first.
func (b Backoff) Wait(ctx context.Context, n int) error { return Sleep(ctx, b.Delay(n)) }

// Sleep waits d, returning ctx's error early if ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
