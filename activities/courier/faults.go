package courier

import (
	"context"
	"errors"
	"time"

	"github.com/aftersales/aftersales/activities/providersim"
)

// Injected failures, returned by the Simulator when a fault fires.
var (
	// ErrInjected is a transient failure returned before the simulator acted.
	ErrInjected = errors.New("courier simulator: injected transient failure, nothing was booked; try again")
	// ErrAnswerLost is returned after the simulator acted, as if its answer was lost.
	ErrAnswerLost = errors.New("courier simulator: injected lost answer, the call may have taken effect; try again")
)

// Faults makes the Simulator misbehave like a real courier. Everything is off by
// default. Rates are probabilities in [0, 1]; draws come from one math/rand source
// seeded with Seed (from the clock when zero) and guarded by a mutex, so a seeded
// run is reproducible. Set the fields before the simulator is used; a Faults must
// not be copied after its first use.
type Faults struct {
	ErrorRate      float64       // fail with ErrInjected before acting
	MaxPerKey      int           // at most this many ErrInjected for one key (money key, ticket); 0: no limit
	SlowRate       float64       // sleep Slow before answering (honouring ctx)
	Slow           time.Duration // how long a slow answer takes
	LoseAnswerRate float64       // act, then fail with ErrAnswerLost
	DuplicateRate  float64       // send a webhook twice with the same event_id
	Reorder        bool          // send delivered before picked_up
	Seed           int64         // seed of the random source; 0 = from the clock

	dice providersim.Dice
}

// roll reports whether a fault with the given rate fires.
func (f *Faults) roll(rate float64) bool { return f.dice.Roll(f.Seed, rate) }

// Injected is how many faults have fired so far.
func (f *Faults) Injected() int { return f.dice.Fired() }

// before applies the faults that strike before a call acts: slowness, then errors.
func (f *Faults) before(ctx context.Context, key string) error {
	return f.dice.Before(ctx, f.Seed, providersim.Early{SlowRate: f.SlowRate, Slow: f.Slow, ErrorRate: f.ErrorRate, Err: ErrInjected,
		Key: key, MaxPerKey: f.MaxPerKey})
}
