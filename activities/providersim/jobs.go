package providersim

import (
	"context"

	"github.com/aftersales/aftersales/activities/webhook"
	"sync"
	"time"
)

// Jobs runs a simulator's delayed work (the webhooks it sends later) in goroutines
// that all stop at Close. It counts the goroutines it runs, so that callers can ask
// how much work is pending and wait for it, rather than guess from the clock. The
// zero value is ready to use; a Jobs must not be copied after its first use.
type Jobs struct {
	once   sync.Once
	ctx    context.Context // ends at Close; the parent of every job's context
	cancel context.CancelFunc

	mu      sync.Mutex // guards closed and running
	idle    sync.Cond  // on mu; broadcast when running drops to zero
	closed  bool
	running int // jobs started whose goroutine has not returned
}

func (j *Jobs) init() {
	j.once.Do(func() {
		j.ctx, j.cancel = context.WithCancel(context.Background())
		j.idle.L = &j.mu
	})
}

// Go runs f in a new goroutine with a context that ends at Close, when the returned
// stop is called, or when f returns. stop ends the context and waits until f has
// returned, so that once it returns the job does nothing more (f must not call it).
// After Close, f is not run and stop does nothing.
func (j *Jobs) Go(f func(ctx context.Context)) (stop func()) {
	j.init()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return func() {}
	}
	ctx, cancel := context.WithCancel(j.ctx)
	done := make(chan struct{})
	j.running++
	go func() {
		defer close(done) // last: stop returns after the count has dropped
		defer j.finished()
		defer cancel()
		f(ctx)
	}()
	return func() { cancel(); <-done }
}

// finished counts a job's goroutine out.
func (j *Jobs) finished() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running--; j.running == 0 {
		j.idle.Broadcast()
	}
}

// After is Go with f run once delay has passed; f is not run if the job's context
// ends first.
func (j *Jobs) After(delay time.Duration, f func(ctx context.Context)) (stop func()) {
	return j.Go(func(ctx context.Context) {
		if webhook.Sleep(ctx, delay) == nil {
			f(ctx)
		}
	})
}

// Running is how many jobs have started and not yet returned: the work still pending.
func (j *Jobs) Running() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.running
}

// Wait blocks until no job is running (jobs started meanwhile included), that is until
// all the work due so far is done, stopped or ended by Close.
func (j *Jobs) Wait() {
	j.init()
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.running > 0 {
		j.idle.Wait()
	}
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
	j.Wait()
}
