package models

import (
	"strings"
	"testing"
	"time"
)

func TestLoadPolicy(t *testing.T) {
	cases := []struct {
		name, yaml string
		wantErr    string // substring; "" = no error
		check      func(t *testing.T, p Policy)
	}{
		{name: "defaults kept", yaml: "version: v1\nreview_timeout: 24h\n", check: func(t *testing.T, p Policy) {
			d := DefaultPolicy()
			if p.ReviewTimeout.D() != 24*time.Hour || p.AppealTimeout != d.AppealTimeout || p.PickupAttempts != 2 {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "days", yaml: "version: v1\nappeal_timeout: 5d\n", check: func(t *testing.T, p Policy) {
			if p.AppealTimeout.D() != 5*24*time.Hour {
				t.Errorf("appeal_timeout %s", p.AppealTimeout)
			}
		}},
		{name: "nested", yaml: "version: v1\nfast_review: {max_cents: 100}\n", check: func(t *testing.T, p Policy) {
			if p.FastReview.MaxCents != 100 || !p.FastReview.Enabled || p.FastReview.MinCredit != 2 {
				t.Errorf("fast_review %+v", p.FastReview)
			}
		}},
		{name: "unknown key named", yaml: "version: v1\nreview_timout: 24h\n", wantErr: "review_timout"},
		{name: "bad duration named", yaml: "version: v1\nship_deadline: soon\n", wantErr: "soon"},
		{name: "negative duration named", yaml: "version: v1\nrefund_timeout: -1h\n", wantErr: "refund_timeout"},
		{name: "out of range named", yaml: "version: v1\nrestocking_fee_max_percent: 120\n", wantErr: "restocking_fee_max_percent"},
		{name: "version required", yaml: "review_timeout: 24h\n", wantErr: "version"},
		{name: "not yaml", yaml: "version: [\n", wantErr: "policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := LoadPolicy(strings.NewReader(c.yaml))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || ErrorCode(err) != EINVALID {
					t.Fatalf("error %v, want EINVALID naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, p)
		})
	}
}

func TestDefaultPolicyMatchesTheDesignTable(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[State]struct {
		name string
		d    time.Duration
	}{
		StatePendingReview: {"review_by", 48 * time.Hour}, StateNegotiating: {"offer_response_by", 72 * time.Hour},
		StateRejected: {"appeal_by", 7 * day}, StateAwaitingPickup: {"pickup_by", 48 * time.Hour},
		StateAwaitingBuyerShipment: {"ship_by", 7 * day}, StateInTransit: {"arrive_by", 15 * day},
		StateAwaitingInspection: {"inspect_by", 10 * day}, StateRefunding: {"refund_by", 48 * time.Hour},
		StateReplacementShipping: {"confirm_by", 7 * day}, StateRepairing: {"repair_by", 15 * day},
		StateEscalated: {"evidence_by", 72 * time.Hour}, StateRecovering: {"recover_by", 7 * day},
	}
	for _, s := range States {
		name, d, ok := p.StateTimeout(s)
		w, has := want[s]
		if ok != has || name != w.name || d != w.d {
			t.Errorf("%s: %q %s %v, want %q %s", s, name, d, ok, w.name, w.d)
		}
	}
	if p.ArbiterTimeout.D() != 48*time.Hour || p.EvaluationWindow.D() != 7*day || p.DelayReportMax.D() != 72*time.Hour ||
		p.ReplyTarget.D() != 3*time.Hour || p.ShipDeadline.D() != 48*time.Hour || p.RestockingFeeMaxPercent != 50 {
		t.Errorf("policy %+v", p)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	for _, s := range []string{"48h0m0s", "7d", "1m30s", "15d"} {
		d, err := ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := ParseDuration(d.String())
		if back != d {
			t.Errorf("%s → %s → %s", s, d, back)
		}
	}
	if _, err := ParseDuration("3 days"); err == nil {
		t.Error("3 days parsed")
	}
}
