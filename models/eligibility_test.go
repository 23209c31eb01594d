package models

import (
	"strings"
	"testing"
	"time"
)

// The return windows (DESIGN §2 Lines and eligibility), counted from the day
// after delivery in China Standard Time: a no-reason return delivered on
// 1 December is in time through 8 December and refused from 9 December; a
// quality exchange has 15 days, a repair 365; lines the law or the shop's
// terms exclude have no no-reason return at all; before delivery no window
// has opened.
func TestCheckEligibility(t *testing.T) {
	cst := time.FixedZone("UTC+8", 8*3600)
	// 23:30 on 1 December in China is still 1 December there (15:30 UTC).
	delivered := time.Date(2026, 12, 1, 23, 30, 0, 0, cst)
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, cst) }
	noReason := CreateTicket{Kind: KindReturnRefund, ReasonCode: ReasonNoReason}
	exchange := CreateTicket{Kind: KindExchange, ReasonCode: ReasonQuality}
	repair := CreateTicket{Kind: KindRepair, ReasonCode: ReasonQuality}
	quality := CreateTicket{Kind: KindReturnRefund, ReasonCode: ReasonQuality}
	cup := []Item{{SKU: "CUP", Qty: 3, UnitPaidCents: 1000}}
	w := DefaultReturnWindows()
	cases := []struct {
		name      string
		c         CreateTicket
		lines     []Item
		delivered *time.Time
		now       time.Time
		refused   string // in the message; "" for eligible
	}{
		{"no-reason on the day of delivery", noReason, cup, &delivered, at(1, 23), ""},
		{"no-reason on day 7 (8 December), its last hour", noReason, cup, &delivered, at(8, 23), ""},
		{"no-reason on day 8 (9 December), its first hour", noReason, cup, &delivered, at(9, 0),
			"return_windows.no_reason: the no-reason return (七天无理由) window of 7d from the day after delivery (2026-12-01) closed at the end of 2026-12-08"},
		{"no-reason before delivery", noReason, cup, nil, at(30, 0), ""},
		{"a quality return has no window here", quality, cup, &delivered, at(30, 0), ""},
		{"quality exchange on day 15", exchange, cup, &delivered, at(16, 12), ""},
		{"quality exchange on day 16", exchange, cup, &delivered, at(17, 0), "return_windows.quality_exchange"},
		{"repair within the warranty", repair, cup, &delivered, delivered.AddDate(1, 0, 0), ""},
		{"repair after the warranty", repair, cup, &delivered, delivered.AddDate(1, 0, 1), "closed at the end of 2027-12-01"},
		{"a perishable line", noReason, []Item{{SKU: "MILK", Qty: 1, Category: CategoryPerishable}}, &delivered, at(2, 9),
			"sku MILK is perishable, which the law excludes"},
		{"a final-sale line", noReason, []Item{cup[0], {SKU: "SALE", Qty: 1, Category: CategoryFinalSale}}, &delivered, at(2, 9),
			"sku SALE was sold final sale under the shop's confirmed terms"},
		{"a perishable line exchanged for quality", exchange, []Item{{SKU: "MILK", Qty: 1, Category: CategoryPerishable}}, &delivered, at(2, 9), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckEligibility(c.c, c.lines, c.delivered, w, c.now)
			switch {
			case c.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.refused != "" && (ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.refused)):
				t.Errorf("got %v, want EINVALID naming %q", err, c.refused)
			}
		})
	}
}

// WindowCloses counts days in China whatever the zone of the delivery time:
// 16:30 UTC on 30 November is 00:30 on 1 December in China.
func TestWindowCloses(t *testing.T) {
	got := WindowCloses(time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC), Duration(7*day))
	want := time.Date(2026, 12, 9, 0, 0, 0, 0, time.FixedZone("", 8*3600))
	if !got.Equal(want) {
		t.Errorf("closes %s, want %s", got, want)
	}
}

// return_windows is policy: whole days from 1 to 366, named when wrong.
func TestReturnWindowsPolicy(t *testing.T) {
	p, err := LoadPolicy(strings.NewReader("version: w\nreturn_windows: {no_reason: 10d}\n"))
	if err != nil || p.ReturnWindows.NoReason != Duration(10*day) || p.ReturnWindows.Repair != Duration(365*day) {
		t.Fatalf("load = %+v, %v", p.ReturnWindows, err)
	}
	for _, bad := range []string{"{no_reason: 36h}", "{repair: 400d}", "{quality_exchange: 0d}"} {
		if _, err := LoadPolicy(strings.NewReader("version: w\nreturn_windows: " + bad + "\n")); err == nil || !strings.Contains(ErrorMessage(err), "return_windows.") {
			t.Errorf("%s: %v, want a refusal naming the key", bad, err)
		}
	}
}

// A no-reason return must be refunded within 7 days of the goods' receipt
// (消法 §25): its inspection is bounded by no_reason_inspect_timeout (5 days
// by default, so with refund_timeout's 48 hours the law is met), a policy that
// cannot meet it is refused at load, and a quality return keeps
// inspect_timeout's 10 days. A ticket whose policy predates the key keeps
// inspect_timeout too.
func TestNoReasonRefundWithinSevenDays(t *testing.T) {
	inspectBy := func(reason ReasonCode, edit func(*Policy)) time.Duration {
		s := newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip, ReasonCode: reason}, edit)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		if s.tk.State != StateAwaitingInspection || s.tk.Deadline == nil || s.tk.Deadline.Name != "inspect_by" {
			t.Fatalf("after delivery: %s, deadline %+v", s.tk.State, s.tk.Deadline)
		}
		return s.tk.Deadline.At.Sub(s.now)
	}
	if got := inspectBy(ReasonNoReason, nil); got != 5*day {
		t.Errorf("a no-reason return's inspection: %s, want 5 days", got)
	}
	if d := DefaultPolicy(); d.NoReasonInspectTimeout+d.RefundTimeout > Duration(NoReasonRefundWithin) {
		t.Errorf("the defaults give a no-reason return %s to its refund", d.NoReasonInspectTimeout+d.RefundTimeout)
	}
	if got := inspectBy(ReasonQuality, nil); got != 10*day {
		t.Errorf("a quality return's inspection: %s, want 10 days", got)
	}
	if got := inspectBy(ReasonNoReason, func(p *Policy) { p.InspectTimeout = Duration(2 * day) }); got != 2*day {
		t.Errorf("inspect_timeout shorter than no_reason_inspect_timeout: %s, want 2 days", got)
	}
	if got := inspectBy(ReasonNoReason, func(p *Policy) { p.NoReasonInspectTimeout = 0 }); got != 10*day {
		t.Errorf("a policy from before no_reason_inspect_timeout: %s, want inspect_timeout's 10 days", got)
	}
	for yaml, ok := range map[string]bool{
		"refund_timeout: 3d":                                 false,
		"no_reason_inspect_timeout: 6d":                      false,
		"inspect_timeout: 2d\nrefund_timeout: 5d":            true,
		"no_reason_inspect_timeout: 4d\nrefund_timeout: 72h": true,
	} {
		_, err := LoadPolicy(strings.NewReader("version: law\n" + yaml + "\n"))
		if ok != (err == nil) || !ok && !strings.Contains(ErrorMessage(err), "消法 §25") {
			t.Errorf("%q: %v, want accepted %v", yaml, err, ok)
		}
	}
}

// What a create asks is bounded by what the units it names were paid, and
// defaults to it: 2 of 3 cups at 10 CNY ask at most 20 CNY.
func TestRequestedForLines(t *testing.T) {
	twoCups := []Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1000}}
	cases := []struct {
		name  string
		c     CreateTicket
		want  int64
		wrong bool
	}{
		{"asked nothing: the units' worth", CreateTicket{Kind: KindReturnRefund, Items: twoCups}, 2000, false},
		{"asked less", CreateTicket{Kind: KindRefundOnly, Items: twoCups, RequestedCents: 1500}, 1500, false},
		{"asked exactly", CreateTicket{Kind: KindReturnRefund, Items: twoCups, RequestedCents: 2000}, 2000, false},
		{"asked more", CreateTicket{Kind: KindReturnRefund, Items: twoCups, RequestedCents: 2001}, 0, true},
		{"an exchange asks nothing", CreateTicket{Kind: KindExchange, Items: twoCups}, 0, false},
		{"lines without prices bound nothing", CreateTicket{Kind: KindRefundOnly, Items: []Item{{SKU: "X", Qty: 1}}, RequestedCents: 900}, 900, false},
	}
	for _, c := range cases {
		got, err := RequestedForLines(c.c)
		if (err != nil) != c.wrong || got != c.want {
			t.Errorf("%s: %d, %v; want %d (refused %v)", c.name, got, err, c.want, c.wrong)
		}
	}
}

// A delay report cannot push a no-reason return's refund past the 7 days the
// law gives from the goods' receipt: refused once the goods are back, allowed
// for a quality return, and for a ticket under a policy from before the bound.
func TestNoReasonDelayReport(t *testing.T) {
	delay := ActionBody{Reason: "warehouse closed", Extend: "24h"}
	atInspection := func(reason ReasonCode, edit func(*Policy)) *story {
		s := newStory(t, CreateTicket{Kind: KindReturnRefund, ReturnMethod: ReturnSelfShip, ReasonCode: reason}, edit)
		s.act(RoleSeller, ActApprove, ActionBody{})
		s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
		s.courier(CourierDelivered)
		return s
	}
	s := atInspection(ReasonNoReason, nil)
	err := s.try(Input{Action: &ActionRequest{Action: ActReportDelay, Actor: subjects[RoleSeller], Role: RoleSeller, Body: delay}})
	if ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), "消法 §25") {
		t.Errorf("a delay of a no-reason inspection: %v, want 409 naming the law", err)
	}
	atInspection(ReasonQuality, nil).act(RoleSeller, ActReportDelay, delay)
	atInspection(ReasonNoReason, func(p *Policy) { p.NoReasonInspectTimeout = 0 }).act(RoleSeller, ActReportDelay, delay)
}
