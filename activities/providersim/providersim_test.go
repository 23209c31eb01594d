package providersim_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/providersim"
)

func TestDiceSeededIsReproducible(t *testing.T) {
	var a, b providersim.Dice
	for i := range 64 {
		if a.Roll(7, 0.5) != b.Roll(7, 0.5) {
			t.Fatalf("roll %d differs", i)
		}
	}
	if a.Roll(7, 0) || !a.Roll(7, 1) {
		t.Fatal("rates 0 and 1 must be certain")
	}
}

func TestBeforeStallsThenFails(t *testing.T) {
	var d providersim.Dice
	injected := errors.New("injected")
	if err := d.Before(context.Background(), 1, providersim.Early{ErrorRate: 1, Err: injected}); err != injected {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.Before(ctx, 1, providersim.Early{SlowRate: 1, Slow: time.Hour, ErrorRate: 1, Err: injected}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// A transient error heals: with MaxPerKey it fires at most that many times for
// one key, each key counted on its own, and the draws stay those of a run
// without the cap.
func TestBeforeIsCappedPerKey(t *testing.T) {
	var d providersim.Dice
	injected := errors.New("injected")
	call := func(key string) string {
		if d.Before(context.Background(), 1, providersim.Early{ErrorRate: 1, Err: injected, Key: key, MaxPerKey: 2}) != nil {
			return "E"
		}
		return "."
	}
	got := ""
	for _, key := range []string{"a", "a", "b", "a", "a", "b", "b", "a"} {
		got += call(key)
	}
	if want := "EEE..E.."; got != want {
		t.Errorf("calls a a b a a b b a gave %s, want %s", got, want)
	}
	if d.Fired() != 4 {
		t.Errorf("fired %d, want the 4 errors returned", d.Fired())
	}
	var capped, free providersim.Dice
	for i := range 64 {
		capped.Before(context.Background(), 7, providersim.Early{ErrorRate: 0.5, Err: injected, Key: "k", MaxPerKey: 1})
		free.Roll(7, 0.5)
		if capped.Roll(7, 0.5) != free.Roll(7, 0.5) {
			t.Fatalf("roll %d after a capped draw differs from the uncapped sequence", i)
		}
	}
}

func TestJobsCloseStopsPendingWork(t *testing.T) {
	var j providersim.Jobs
	var ran atomic.Int32
	done := make(chan struct{})
	j.After(time.Millisecond, func(context.Context) { ran.Add(1); close(done) })
	<-done
	j.After(time.Hour, func(context.Context) { ran.Add(1) })
	stop := j.Go(func(ctx context.Context) { <-ctx.Done() })
	stop()
	j.Close()
	j.Go(func(context.Context) { ran.Add(1) })
	j.Close()
	if n := ran.Load(); n != 1 || !j.Closed() {
		t.Fatalf("ran %d jobs, closed %v", n, j.Closed())
	}
}

// Running, stop and Wait are what tests and callers wait on instead of the clock: stop
// returns only after its job has, and Wait only when no job is left.
func TestJobsStopAndWaitWaitForTheJobs(t *testing.T) {
	var j providersim.Jobs
	defer j.Close()
	release := make(chan struct{})
	var finished atomic.Bool
	j.Go(func(context.Context) { <-release; finished.Store(true) })
	stop := j.Go(func(ctx context.Context) { <-ctx.Done() })
	if n := j.Running(); n != 2 {
		t.Fatalf("%d jobs running, want 2", n)
	}
	stop()
	if n := j.Running(); n != 1 {
		t.Fatalf("%d jobs running after stop, want 1", n)
	}
	close(release)
	j.Wait()
	if n := j.Running(); n != 0 || !finished.Load() {
		t.Fatalf("after Wait: %d jobs running, finished %v", n, finished.Load())
	}
}
