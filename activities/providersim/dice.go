// Package providersim holds what the in-process provider simulators (courier.Simulator,
// payment.Simulator) share: fault dice drawn from one seeded source, the faults that
// strike before a call acts, the goroutines that deliver their webhooks later, and
// random ids. What each simulator books, pays or sends stays with it.
package providersim

import (
	"context"

	"github.com/aftersales/aftersales/activities/webhook"
	"math/rand/v2"
	"sync"
	"time"
)

// Dice draws fault rolls from one math/rand source, guarded by a mutex, so that a
// seeded run is reproducible. The zero value is ready to use; a Dice must not be
// copied after its first roll.
type Dice struct {
	mu     sync.Mutex
	rng    *rand.Rand
	fired  int
	perKey map[string]int // Early errors fired, by Early.Key
}

// Fired is how many rolls have fired so far: the faults injected.
func (d *Dice) Fired() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fired
}

// Roll reports whether a fault with the given rate (a probability) fires. A rate ≤ 0
// never fires and a rate ≥ 1 always does, neither drawing. The first draw seeds the
// source with seed (from the clock when 0); later seeds are ignored.
func (d *Dice) Roll(seed int64, rate float64) bool {
	return d.roll(seed, rate, "", 0)
}

// roll is Roll with a cap: with max > 0 it fires at most max times in all for
// key (the draw is made either way, so a seeded run draws the same sequence).
func (d *Dice) roll(seed int64, rate float64, key string, max int) bool {
	if rate <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	hit := rate >= 1
	if !hit {
		if d.rng == nil {
			s := uint64(seed)
			if s == 0 {
				s = uint64(time.Now().UnixNano())
			}
			d.rng = rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
		}
		hit = d.rng.Float64() < rate
	}
	if max > 0 {
		if d.perKey == nil {
			d.perKey = map[string]int{}
		}
		if hit = hit && d.perKey[key] < max; hit {
			d.perKey[key]++
		}
	}
	if hit {
		d.fired++
	}
	return hit
}

// Early is the pair of faults that strike before a simulated call acts.
type Early struct {
	SlowRate  float64       // chance of stalling for Slow first
	Slow      time.Duration // how long a stall lasts; no stall when zero
	ErrorRate float64       // chance of then failing with Err
	Err       error         // the simulator's injected transient error
	// Key names what the call is about (a money key, a ticket); with MaxPerKey
	// above zero Err fires at most MaxPerKey times for one Key: a transient
	// error heals, and the calls after them go through.
	Key       string
	MaxPerKey int
}

// Before applies e with rolls of d: it rolls SlowRate and stalls Slow (returning
// ctx's error if ctx ends first), then rolls ErrorRate and returns e.Err; otherwise
// it returns ctx.Err(). The rolls are made in that order whatever Slow is, so a
// seeded run draws the same sequence.
func (d *Dice) Before(ctx context.Context, seed int64, e Early) error {
	if d.Roll(seed, e.SlowRate) && e.Slow > 0 {
		if err := webhook.Sleep(ctx, e.Slow); err != nil {
			return err
		}
	}
	if d.roll(seed, e.ErrorRate, e.Key, e.MaxPerKey) {
		return e.Err
	}
	return ctx.Err()
}
