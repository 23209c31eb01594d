package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
)

// simFaults is the --sim-faults flag: comma-separated name=rate pairs (rates 0..1)
// applied to both simulated providers, e.g. "error=0.3,lose=0.1,duplicate=0.2,reorder".
type simFaults struct {
	errorRate, lose, duplicate, fail float64
	reorder                          bool
	spec                             string
	// latency: every call to a simulated provider takes this long before it
	// answers (the bench's --provider-latency).
	latency time.Duration
}

func (f *simFaults) String() string { return f.spec }

// Set parses the flag value.
func (f *simFaults) Set(spec string) error {
	*f = simFaults{spec: spec}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if part == "reorder" {
			f.reorder = true
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		rate, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil || rate < 0 || rate > 1 {
			return fmt.Errorf("fault %q: write name=rate with a rate from 0 to 1, e.g. error=0.3", part)
		}
		switch name {
		case "error":
			f.errorRate = rate
		case "lose":
			f.lose = rate
		case "duplicate":
			f.duplicate = rate
		case "fail":
			f.fail = rate
		default:
			return fmt.Errorf("fault %q: known faults are error, lose, duplicate, fail and reorder", name)
		}
	}
	return nil
}

func (f *simFaults) applyCourier(s *courier.Simulator) {
	s.Faults.ErrorRate, s.Faults.LoseAnswerRate, s.Faults.DuplicateRate, s.Faults.Reorder = f.errorRate, f.lose, f.duplicate, f.reorder
	s.Faults.SlowRate, s.Faults.Slow = f.slowRate(), f.latency
}

func (f *simFaults) applyPayment(s *payment.Simulator) {
	s.Faults.ErrorRate, s.Faults.LoseAnswerRate, s.Faults.DuplicateRate, s.Faults.FailRate = f.errorRate, f.lose, f.duplicate, f.fail
	s.Faults.SlowRate, s.Faults.Slow = f.slowRate(), f.latency
}

func (f *simFaults) slowRate() float64 {
	if f.latency > 0 {
		return 1
	}
	return 0
}
