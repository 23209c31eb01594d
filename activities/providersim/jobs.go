package providersim

import (
	"context"

	"github.com/aftersales/aftersales/activities/webhook"
	"sync"
	"time"
)

// Jobs runs a simulator's delayed work (the webhooks it sends later) in goroutines
// that all stop at Close. The zero value is ready to use; a Jobs must not be copied
// after its first use.
type Jobs struct {
	once   sync.Once
	ctx    context.Context // ends at Close; the parent of every job's context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup
}

func (j *Jobs) init() {
	j.once.Do(func() { j.ctx, j.cancel = context.WithCancel(context.Background()) })
}

// Go runs f in a new goroutine with a context that ends at Close, when the returned
// cancel is called, or when f returns. After Close, f is not run (the returned cancel
// is then a no-op).
func (j *Jobs) Go(f func(ctx context.Context)) context.CancelFunc {
	j.init()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return func() {}
	}
	ctx, cancel := context.WithCancel(j.ctx)
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer cancel()
		f(ctx)
	}()
	return cancel
}

// After is Go with f run once delay has passed; f is not run if the job's context
// ends first.
func (j *Jobs) After(delay time.Duration, f func(ctx context.Context)) context.CancelFunc {
	return j.Go(func(ctx context.Context) {
		if webhook.Sleep(ctx, delay) == nil {
			f(ctx)
		}
	})
}

// Closed reports whether Close has been called.
func (j *Jobs) Closed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Close ends every job's context, waits until their goroutines have returned and makes
// later Go calls run nothing. It is idempotent.
func (j *Jobs) Close() {
	j.init()
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.cancel()
	j.wg.Wait()
}
