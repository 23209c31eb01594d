package models

import (
	"math/big"
	"slices"
	"strings"
	"testing"
)

// Lines, inspected one by one (DESIGN §2 Lines and eligibility). Every figure
// wanted is worked out by hand from the order's prices, not by the code.

func cups(c *CreateTicket) {
	c.Kind, c.ReturnMethod, c.ReasonCode = KindReturnRefund, ReturnSelfShip, ReasonNoReason
	c.Order.PaidCents = 8000 // 3 cups at 10.00, 2 plates at 25.00
	c.Items = []Item{{SKU: "CUP", Qty: 2, UnitPaidCents: 1000}, {SKU: "PLATE", Qty: 1, UnitPaidCents: 2500}}
	c.RequestedCents = 4500
}

// atInspection is a story of a return of c, its goods delivered.
func atInspection(t *testing.T, edit func(*CreateTicket)) *story {
	t.Helper()
	c := CreateTicket{}
	cups(&c)
	if edit != nil {
		edit(&c)
	}
	s := newStory(t, c, nil)
	s.act(RoleSeller, ActApprove, ActionBody{})
	s.act(RoleBuyer, ActShip, ActionBody{Carrier: "SF", TrackingNo: "SF1"})
	s.courier(CourierDelivered)
	s.want(StateAwaitingInspection, "")
	return s
}

// paid settles the newest move_money effect and returns its movement.
func (s *story) paid() Refund {
	s.t.Helper()
	e := s.last(EffectMoveMoney)
	s.pay(e.Key, RefundSucceeded)
	return s.tk.Refunds[s.tk.Refunds.Find(e.Key)]
}

func TestInspectionByLine(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*CreateTicket)
		body    ActionBody
		refund  int64       // what the inspection refunds
		lines   []LineCents // how the refund is shared
		outcome Outcome
		note    string // in the inspection's timeline entry
	}{
		{name: "every unit arrived", body: ActionBody{Result: InspectPass, Lines: []LineInspection{
			{SKU: "CUP", Received: 2, Disposition: DispositionRestock}, {SKU: "PLATE", Received: 1}}},
			refund: 4500, lines: []LineCents{{"CUP", 2000}, {"PLATE", 2500}}, outcome: OutcomeRefunded},
		{name: "1 of 2 cups received: only what arrived", body: ActionBody{Result: InspectPass, Lines: []LineInspection{
			{SKU: "CUP", Received: 1}, {SKU: "PLATE", Received: 1}}},
			refund: 3500, lines: []LineCents{{"CUP", 1000}, {"PLATE", 2500}}, outcome: OutcomePartiallyRefunded,
			note: "short shipment, received CUP 1 of 2"},
		{name: "a line left out is a line not received", body: ActionBody{Result: InspectPass, Lines: []LineInspection{
			{SKU: "CUP", Received: 2}}},
			refund: 2000, lines: []LineCents{{"CUP", 2000}, {"PLATE", 0}}, outcome: OutcomePartiallyRefunded,
			note: "received PLATE 0 of 1"},
		{name: "a damaged cup: 20% of it deducted", body: ActionBody{Result: InspectDeduct, DeductPercent: 20, Lines: []LineInspection{
			{SKU: "CUP", Received: 2, Damaged: 1, Disposition: DispositionNotRestock}, {SKU: "PLATE", Received: 1}}},
			refund: 4300, lines: []LineCents{{"CUP", 1800}, {"PLATE", 2500}}, outcome: OutcomePartiallyRefunded,
			note: "deduct 20% of the damaged units"},
		{name: "asked less than the units' price: the same share of it", edit: func(c *CreateTicket) { c.RequestedCents = 3000 },
			body: ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1}, {SKU: "PLATE", Received: 1}}},
			// 3000 × (1000 + 2500) / 4500 = 2333.33: 2333, shared 666.67 and 1666.67.
			refund: 2333, lines: []LineCents{{"CUP", 667}, {"PLATE", 1666}}, outcome: OutcomePartiallyRefunded},
		{name: "whole, as before lines", body: ActionBody{Result: InspectDeduct, DeductPercent: 10},
			refund: 4050, lines: []LineCents{{"CUP", 1800}, {"PLATE", 2250}}, outcome: OutcomePartiallyRefunded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := atInspection(t, tc.edit)
			s.act(RoleSeller, ActInspect, tc.body)
			s.want(StateRefunding, "")
			if e := s.last(EffectMoveMoney); e.AmountCents != tc.refund {
				t.Fatalf("refund of %d, want %d", e.AmountCents, tc.refund)
			}
			m := s.paid()
			if !slices.Equal(m.Lines, tc.lines) {
				t.Errorf("movement lines %+v, want %+v", m.Lines, tc.lines)
			}
			s.want(StateCompleted, tc.outcome)
			s.wantRefunded(tc.refund)
			if i := slices.IndexFunc(s.tk.Timeline, func(e Event) bool { return e.Action == ActInspect }); i < 0 || !strings.Contains(s.tk.Timeline[i].Note, tc.note) {
				t.Errorf("inspect entry %+v does not say %q", s.tk.Timeline, tc.note)
			}
			got := TicketLines(s.tk)
			for i, l := range got {
				if l.RefundedCents != tc.lines[i].Cents {
					t.Errorf("line %s refunded %d, want %d", l.SKU, l.RefundedCents, tc.lines[i].Cents)
				}
			}
		})
	}
}

// The answer's lines: requested as the units were paid, received as inspected.
func TestTicketLines(t *testing.T) {
	s := atInspection(t, func(c *CreateTicket) { c.RequestedCents = 3000 })
	before := TicketLines(s.tk)
	if before[0].RequestedCents != 1333 || before[1].RequestedCents != 1667 || before[0].Received != nil {
		// 3000 shared 2000 : 2500 = 1333.33 and 1666.67.
		t.Fatalf("lines before inspection %+v, want 1333 and 1667 requested, nothing received", before)
	}
	s.act(RoleSeller, ActInspect, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1, Damaged: 1, Disposition: DispositionScrap}}})
	after := TicketLines(s.tk)
	if after[0].Received == nil || *after[0].Received != 1 || after[0].Damaged != 1 || after[0].Disposition != DispositionScrap ||
		after[1].Received == nil || *after[1].Received != 0 {
		t.Fatalf("lines after inspection %+v", after)
	}
	if legacy := TicketLines(Ticket{RequestedCents: 500}); legacy != nil {
		t.Errorf("a ticket from before lines has lines %+v", legacy)
	}
}

func TestInspectionLinesRefused(t *testing.T) {
	cases := []struct {
		name string
		edit func(*CreateTicket)
		body ActionBody
		want string
	}{
		{"a SKU not returned", nil, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "BOWL", Received: 1}}}, "not a line of this ticket"},
		{"a line twice", nil, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1}, {SKU: "CUP", Received: 1}}}, "twice"},
		{"more received than returned", nil, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 3}}}, "returns 2 unit(s)"},
		{"more damaged than received", nil, ActionBody{Result: InspectDeduct, DeductPercent: 10, Lines: []LineInspection{{SKU: "CUP", Received: 1, Damaged: 2}}}, "lines[0].damaged"},
		{"an unknown disposition", nil, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1, Disposition: "burn"}}}, "disposition"},
		{"an empty parcel passed", nil, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 0}}}, "result fail"},
		{"a deduction with nothing damaged", nil, ActionBody{Result: InspectDeduct, DeductPercent: 10, Lines: []LineInspection{{SKU: "CUP", Received: 2}}}, "no line has damaged"},
		{"a ticket from before lines", func(c *CreateTicket) { c.Items = nil }, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1}}}, "inspect it whole"},
		{"lines without prices", func(c *CreateTicket) { c.Items[1].UnitPaidCents = 0 }, ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 1}}}, "no unit_paid_cents for some"},
		{"a short exchange", func(c *CreateTicket) { c.Kind, c.ExchangeSKU, c.RequestedCents = KindExchange, "CUP-BLUE", 0 },
			ActionBody{Result: InspectPass, Lines: []LineInspection{{SKU: "CUP", Received: 2}}}, "receive them all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := atInspection(t, tc.edit)
			err := s.try(Input{Action: &ActionRequest{Action: ActInspect, Actor: "shop-1", Role: RoleSeller, Body: tc.body}})
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("inspect = %v, want %s saying %q", err, EINVALID, tc.want)
			}
		})
	}
	t.Run("an empty parcel failed", func(t *testing.T) {
		s := atInspection(t, nil)
		s.act(RoleSeller, ActInspect, ActionBody{Result: InspectFail, Note: "empty box", Lines: []LineInspection{{SKU: "CUP", Received: 0}}})
		s.want(StateRejected, "")
	})
}

// A failed inspection given by line, overruled by the platform, refunds what
// arrived: the seller's own count of the units.
func TestOverruledInspectionRefundsWhatArrived(t *testing.T) {
	s := atInspection(t, nil)
	s.act(RoleSeller, ActInspect, ActionBody{Result: InspectFail, Note: "one cup missing, plate scratched",
		Lines: []LineInspection{{SKU: "CUP", Received: 1}, {SKU: "PLATE", Received: 1}}})
	s.act(RoleBuyer, ActEscalate, ActionBody{Reason: "the plate was like that"})
	s.act(RolePlatform, ActArbitrate, ActionBody{Verdict: VerdictSupportBuyer, RefundCents: ptr[int64](0)})
	if e := s.last(EffectMoveMoney); e.AmountCents != 3500 {
		t.Fatalf("overruled refund of %d, want 3500 (1 cup and the plate)", e.AmountCents)
	}
}

// Allocate's parts sum to the amount and each is within one cent of its exact
// share, measured with exact rationals.
func FuzzAllocate(f *testing.F) {
	f.Add(int64(2333), int64(1000), int64(2500), int64(0))
	f.Add(int64(1_000_000_000_000), int64(999_999_999_999), int64(1), int64(7))
	f.Fuzz(func(t *testing.T, amount, a, b, c int64) {
		if amount < 0 || a < 0 || b < 0 || c < 0 || amount > 1e12 || a > 1e12 || b > 1e12 || c > 1e12 || a+b+c == 0 {
			t.Skip()
		}
		w := []LineCents{{"A", a}, {"B", b}, {"C", c}}
		parts := Allocate(amount, w)
		var sum int64
		total := big.NewRat(a+b+c, 1)
		for i, p := range parts {
			sum += p.Cents
			exact := new(big.Rat).Quo(new(big.Rat).Mul(big.NewRat(amount, 1), big.NewRat(w[i].Cents, 1)), total)
			diff := new(big.Rat).Sub(big.NewRat(p.Cents, 1), exact)
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Fatalf("part %d = %d, exact share %s", i, p.Cents, exact.FloatString(2))
			}
		}
		if sum != amount {
			t.Fatalf("parts sum to %d, want %d", sum, amount)
		}
	})
}

// Under RulesLines a revision asks, and an offer refunds, no more than the
// ticket's units were paid, as a create; a ticket created under the rules
// before keeps the order's paid amount as its bound.
func TestRefundBoundByLines(t *testing.T) {
	for _, tc := range []struct {
		rules int
		want  string // "" accepted
	}{
		{RulesLines, "the 4500 cents the units returned were paid"},
		{RulesMoneyAnchored, ""},
	} {
		s := newStoryUnder(t, tc.rules, func() CreateTicket { c := CreateTicket{}; cups(&c); return c }(), nil)
		offer := Input{Action: &ActionRequest{Action: ActOffer, Actor: "shop-1", Role: RoleSeller,
			Body: ActionBody{RefundCents: ptr[int64](6000), KeepItem: true}}}
		if err := s.try(offer); tc.want == "" && err != nil || tc.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("rules %d: an offer of 60.00 for 45.00 of units = %v, want %q", tc.rules, err, tc.want)
		}
		s = newStoryUnder(t, tc.rules, func() CreateTicket { c := CreateTicket{}; cups(&c); return c }(), nil)
		s.act(RoleSeller, ActReject, ActionBody{Reason: "no photos"})
		revise := Input{Action: &ActionRequest{Action: ActRevise, Actor: "buyer-1", Role: RoleBuyer,
			Body: ActionBody{RequestedCents: ptr[int64](4501)}}}
		if err := s.try(revise); tc.want == "" && err != nil || tc.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("rules %d: a revision to 45.01 for 45.00 of units = %v, want %q", tc.rules, err, tc.want)
		}
	}
}
