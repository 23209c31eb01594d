package workflows

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/models"
)

// TestRandomized fires random allowed and forbidden actions, courier and payment
// webhooks (duplicates included) and time jumps at tickets of every kind, with fixed
// seeds, and checks the invariants after every step:
//
//   - refunded_cents never exceeds what the order paid;
//   - a terminal ticket never changes state, outcome or refunded_cents;
//   - an action is refused exactly when models.CheckAction says so, and a refused
//     action leaves the ticket byte-for-byte as it was;
//   - the payment provider saw every key at most once; the ledger has one row per
//     key and keeps every order within its cap.
//
// At the end the usual checks of run() apply (refund statuses agree with the ledger,
// the read model holds the final ticket).
func TestRandomized(t *testing.T) {
	const steps = 40
	seeds := int64(30)
	if n, err := strconv.Atoi(os.Getenv("AFTERSALES_RANDOM_SEEDS")); err == nil && n > 0 {
		seeds = int64(n) // more exploration on demand; the default is fixed
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			// Tickets of one order share the fakes, so the order's cap is exercised
			// across tickets; a new ticket starts when the previous one is over.
			f := newFakes()
			small := r.Intn(2) == 0
			done := 0
			for n := 1; done < steps; n++ {
				c := randomCreate(r, small)
				h := newHarness(t, c, withFakes(f), withTicketID(fmt.Sprintf("R%d", n)))
				h.giveUpAfter = 2 * 365 * day // 40 steps of up to 16 days each
				rt := &randomRun{h: h, r: r, steps: steps - done, log: []string{fmt.Sprintf("create %s %s/%s %d of %d credit %d reason %s",
					h.in.TicketID, c.Kind, c.ReturnMethod, c.RequestedCents, c.Order.PaidCents, c.BuyerCredit, c.ReasonCode)}}
				h.env.RegisterDelayedCallback(rt.step, rt.jump())
				tk := h.run()
				if t.Failed() || os.Getenv("AFTERSALES_RANDOM_LOG") != "" {
					t.Logf("script of seed %d:\n  %s", seed, strings.Join(rt.log, "\n  "))
				}
				if t.Failed() {
					return
				}
				if !tk.State.Terminal() {
					t.Fatalf("workflow ended with the ticket in %s", tk.State)
				}
				done += max(rt.done, 1)
			}
			if got := f.ledger.succeededRefunds(orderID); got > paidFor(small) {
				t.Errorf("order %s refunded %d of %d paid across its tickets", orderID, got, paidFor(small))
			}
		})
	}
}

func paidFor(small bool) int64 {
	if small {
		return 30_000
	}
	return 100_000
}

type randomRun struct {
	h        *harness
	r        *rand.Rand
	steps    int
	done     int
	log      []string
	terminal *models.Ticket
	courier  []models.CourierEvent
	payments []models.PaymentEvent
}

var combos = []struct {
	kind   models.Kind
	method models.ReturnMethod
}{
	{models.KindRefundOnly, models.ReturnNone},
	{models.KindPriceProtection, models.ReturnNone},
	{models.KindReturnRefund, models.ReturnPickup},
	{models.KindReturnRefund, models.ReturnSelfShip},
	{models.KindExchange, models.ReturnPickup},
	{models.KindExchange, models.ReturnSelfShip},
	{models.KindExchange, models.ReturnSwapOnDelivery},
	{models.KindRepair, models.ReturnPickup},
	{models.KindRepair, models.ReturnSelfShip},
}

func randomCreate(r *rand.Rand, small bool) models.CreateTicket {
	combo := combos[r.Intn(len(combos))]
	opts := []createOpt{reason(models.ReasonCodes[r.Intn(len(models.ReasonCodes))])}
	if combo.kind == models.KindPriceProtection {
		opts[0] = reason(models.ReasonPriceDrop)
	}
	if small {
		opts = append(opts, lightning()) // 300 CNY: fast review and lightning refund apply
	}
	opts = append(opts, credit(r.Intn(6)))
	if r.Intn(3) == 0 {
		opts = append(opts, freightInsured())
	}
	c := newCreate(combo.kind, combo.method, opts...)
	if c.RequestedCents > 0 && r.Intn(3) == 0 {
		c.RequestedCents = c.Order.PaidCents / 2
	}
	return c
}

// jump is the time to the next step: mostly short, sometimes past a deadline.
func (rt *randomRun) jump() time.Duration {
	jumps := []time.Duration{time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour, 49 * time.Hour, 4 * day, 8 * day, 16 * day}
	weights := []int{20, 20, 20, 12, 10, 8, 6, 4}
	n := rt.r.Intn(100)
	for i, w := range weights {
		if n < w {
			return jumps[i]
		}
		n -= w
	}
	return time.Minute
}

func (rt *randomRun) logf(format string, args ...any) {
	rt.log = append(rt.log, fmt.Sprintf("%s: ", rt.h.elapsed())+fmt.Sprintf(format, args...))
}

// step runs one random event, checks the invariants right after it, and schedules
// the next step.
func (rt *randomRun) step() {
	h, r := rt.h, rt.r
	before := h.ticket()
	rt.checkTerminal(before)
	switch n := r.Intn(100); {
	case n < 55:
		rt.action(before)
	case n < 75:
		rt.courierEvent()
	case n < 92:
		rt.paymentEvent(before)
	case n < 95:
		// The provider settles a key without telling us (a lost webhook).
		if k := rt.sentKey(before); k != "" {
			st := rt.decide(k)
			rt.logf("provider settles %s %s silently", k, st)
		}
	case n < 97:
		// The provider will act on the next call but its answer gets lost.
		h.f.pay.loseAnswers(1)
		rt.logf("provider will lose its next answer")
	default:
		rt.logf("time passes")
	}
	h.env.RegisterDelayedCallback(func() { rt.checkAfter() }, 0)
	rt.done++
	if rt.done < rt.steps {
		h.env.RegisterDelayedCallback(rt.step, rt.jump())
	} else {
		rt.answerLater()
	}
}

// answerLater: the script is over, and the provider answers what it holds a day
// later, every day, so a ticket waiting for its money can end (it looks keys up).
func (rt *randomRun) answerLater() {
	h := rt.h
	h.env.RegisterDelayedCallback(func() {
		for _, k := range h.f.pay.keys() {
			if h.f.pay.status(k) == models.RefundSent {
				rt.logf("provider settles %s %s silently", k, rt.decide(k))
			}
		}
		rt.answerLater()
	}, day)
}

// checkTerminal: once ended, the state, outcome and end time never change and no new
// money movement starts. refunded_cents may only grow by refunds that were already
// with the provider when the ticket ended and settle later (money that moved is
// recorded; see the report on escalations closing with a refund in flight).
func (rt *randomRun) checkTerminal(tk models.Ticket) {
	t := rt.h.t
	if rt.terminal == nil {
		if tk.State.Terminal() {
			rt.terminal = &tk
		}
		return
	}
	p := rt.terminal
	if tk.State != p.State || tk.Outcome != p.Outcome || !tk.EndedAt.Equal(*p.EndedAt) {
		t.Errorf("at %s: terminal ticket changed: %s/%s ended %s → %s/%s ended %s", rt.h.elapsed(),
			p.State, p.Outcome, p.EndedAt, tk.State, tk.Outcome, tk.EndedAt)
	}
	if len(tk.Refunds) != len(p.Refunds) {
		t.Errorf("at %s: money moved after the end: %+v → %+v", rt.h.elapsed(), p.Refunds, tk.Refunds)
		return
	}
	late := p.RefundedCents
	for i, r := range tk.Refunds {
		was := p.Refunds[i].Status
		if r.Purpose == "refund" && r.Status == models.RefundSucceeded && (was == models.RefundSent || was == models.RefundPending) {
			late += r.AmountCents
		}
	}
	if tk.RefundedCents != late {
		t.Errorf("at %s: refunded_cents of the ended ticket went %d → %d, in-flight refunds explain %d",
			rt.h.elapsed(), p.RefundedCents, tk.RefundedCents, late)
	}
}

func (rt *randomRun) checkAfter() {
	h := rt.h
	tk := h.ticket()
	if tk.RefundedCents > tk.Order.PaidCents {
		h.t.Errorf("at %s: refunded_cents %d > paid %d", h.elapsed(), tk.RefundedCents, tk.Order.PaidCents)
	}
	rt.checkTerminal(tk)
	if err := h.f.pay.check(); err != nil {
		h.t.Errorf("at %s: %v", h.elapsed(), err)
	}
	if err := h.f.ledger.check(0); err != nil {
		h.t.Errorf("at %s: %v", h.elapsed(), err)
	}
}

// ---- actions ----

func (rt *randomRun) action(tk models.Ticket) {
	h, r := rt.h, rt.r
	req := rt.randomRequest(tk)
	h.reqs++
	req.RequestID = fmt.Sprintf("rnd-%d", h.reqs)
	var before string
	var wantErr error
	h.env.RegisterDelayedCallback(func() {
		cur := h.ticket()
		before = jsonOf(h.t, cur)
		wantErr = models.CheckAction(cur, req, h.in.Policy, h.env.Now())
	}, 0)
	var rejected error
	var completed bool
	var completeErr error
	h.env.UpdateWorkflow(UpdateAction, req.RequestID, &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { rejected = err },
		OnComplete: func(_ any, err error) { completed, completeErr = true, err },
	}, req)
	h.env.RegisterDelayedCallback(func() {
		after := jsonOf(h.t, h.ticket())
		desc := fmt.Sprintf("%s by %s %s %s", req.Action, req.Role, req.Actor, jsonOf(h.t, req.Body))
		switch {
		case wantErr != nil && rejected == nil:
			h.t.Errorf("at %s: %s accepted, CheckAction says %v", h.elapsed(), desc, wantErr)
		case wantErr == nil && rejected != nil:
			h.t.Errorf("at %s: %s refused (%v), CheckAction allows it", h.elapsed(), desc, rejected)
		case rejected != nil:
			if got := appErrorType(rejected); got != models.ErrorCode(wantErr) {
				h.t.Errorf("at %s: %s refused with %q, want %q", h.elapsed(), desc, got, models.ErrorCode(wantErr))
			}
			if after != before {
				h.t.Errorf("at %s: refused %s changed the ticket:\nbefore %s\nafter  %s", h.elapsed(), desc, before, after)
			}
		}
		outcome := "accepted"
		if rejected != nil {
			outcome = "refused " + appErrorType(rejected)
		}
		rt.logf("%s → %s", desc, outcome)
	}, 0)
	// An accepted action completes without error, or with a domain error when another
	// message moved the ticket between validation and handling (the handler checks
	// again: e.g. an arbiter's verdict at the very second of decide_by).
	h.env.RegisterDelayedCallback(func() {
		if rejected == nil && wantErr == nil && completed && completeErr != nil {
			if code := appErrorType(completeErr); code != models.ECONFLICT {
				h.t.Errorf("%s %s: accepted but failed: %v", req.RequestID, req.Action, completeErr)
			}
			rt.logf("%s %s: refused by the handler: %v", req.RequestID, req.Action, completeErr)
		}
	}, time.Minute/2)
	_ = r
}

func (rt *randomRun) randomRequest(tk models.Ticket) models.ActionRequest {
	r := rt.r
	actions := append(append([]string{}, models.Actions...), "teleport")
	action := actions[r.Intn(len(actions))]
	// Prefer actions the current state allows, so tickets move forward.
	if r.Intn(3) > 0 {
		if ok := rt.allowedActions(tk); len(ok) > 0 {
			action = ok[r.Intn(len(ok))]
		}
	}
	if action == models.ActCancel && r.Intn(4) > 0 {
		action = models.ActReply // withdrawing ends the ticket: keep it rare
	}
	req := models.ActionRequest{Action: action}
	switch n := r.Intn(20); {
	case n < 7:
		req.Role, req.Actor = models.RoleSeller, shopID
	case n < 14:
		req.Role, req.Actor = models.RoleBuyer, buyerID
	case n < 17:
		req.Role, req.Actor = models.RolePlatform, agentID
	case n < 18:
		req.Role, req.Actor = models.RoleBuyer, "buyer-2"
	case n < 19:
		req.Role, req.Actor = models.RoleSeller, "shop-2"
	default:
		req.Role, req.Actor = models.RoleAdmin, "root"
	}
	// Mostly the party the action belongs to.
	if r.Intn(4) > 0 {
		switch action {
		case models.ActApprove, models.ActReject, models.ActOffer, models.ActInspect, models.ActReply,
			models.ActReportDelay, models.ActConfirmReceipt:
			req.Role, req.Actor = models.RoleSeller, shopID
		case models.ActAcceptOffer, models.ActDeclineOffer, models.ActShip, models.ActCancel, models.ActRevise,
			models.ActConfirmReplacement, models.ActEvaluate:
			req.Role, req.Actor = models.RoleBuyer, buyerID
		case models.ActArbitrate:
			req.Role, req.Actor = models.RolePlatform, agentID
		}
	}
	paid := tk.Order.PaidCents
	amounts := []*int64{nil, i64(0), i64(-1), i64(1_000), i64(paid / 3), i64(paid / 2), i64(paid), i64(paid + 1)}
	pick := func(s ...string) string { return s[r.Intn(len(s))] }
	b := &req.Body
	switch action {
	case models.ActReject, models.ActEscalate, models.ActCancel:
		b.Reason = pick("", "not as shown", "  ")
		if r.Intn(4) > 0 && b.Reason != "not as shown" {
			b.Reason = "not as shown"
		}
	case models.ActOffer:
		b.RefundCents = amounts[r.Intn(len(amounts))]
		b.KeepItem = r.Intn(2) == 0
	case models.ActShip:
		b.Carrier = pick("SF", "SF", "")
		b.TrackingNo = pick("SF777", "SF777", "")
	case models.ActInspect:
		b.Result = pick(models.InspectPass, models.InspectPass, models.InspectDeduct, models.InspectFail, "meh")
		b.DeductPercent = []int{0, 10, 30, 50, 51}[r.Intn(5)]
	case models.ActReportDelay:
		b.Reason = pick("holiday", "holiday", "")
		b.Extend = pick("1h", "24h", "72h", "3d", "73h", "", "x")
	case models.ActEvidence:
		b.Note = pick("photos", "photos", "")
	case models.ActArbitrate:
		b.Verdict = pick(models.VerdictSupportBuyer, models.VerdictSupportBuyer, models.VerdictSupportSeller, "maybe")
		b.RefundCents = amounts[r.Intn(len(amounts))]
	case models.ActEvaluate:
		b.Score = r.Intn(7)
	case models.ActRevise:
		b.RequestedCents = amounts[r.Intn(len(amounts))]
	case models.ActReply:
		b.Message = "on it"
	}
	return req
}

// allowedActions lists the actions some party may take in the ticket's state.
func (rt *randomRun) allowedActions(tk models.Ticket) []string {
	var out []string
	for _, a := range models.Actions {
		for _, role := range []models.Role{models.RoleBuyer, models.RoleSeller, models.RolePlatform} {
			actor := map[models.Role]string{models.RoleBuyer: buyerID, models.RoleSeller: shopID, models.RolePlatform: agentID}[role]
			err := models.CheckAction(tk, models.ActionRequest{Action: a, Role: role, Actor: actor}, rt.h.in.Policy, rt.h.env.Now())
			if code := models.ErrorCode(err); code == "" || code == models.EINVALID {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// ---- webhooks ----

func (rt *randomRun) courierEvent() {
	h, r := rt.h, rt.r
	var ev models.CourierEvent
	if len(rt.courier) > 0 && r.Intn(4) == 0 {
		ev = rt.courier[r.Intn(len(rt.courier))] // a duplicate delivery of the same webhook
		rt.logf("courier %s %s (duplicate)", ev.EventID, ev.Type)
	} else {
		h.events++
		ev = models.CourierEvent{EventID: fmt.Sprintf("c-%d", h.events), TicketID: h.in.TicketID,
			Type: models.CourierEventTypes[r.Intn(len(models.CourierEventTypes))], TrackingNo: "SF1", At: h.env.Now()}
		rt.courier = append(rt.courier, ev)
		rt.logf("courier %s %s", ev.EventID, ev.Type)
	}
	h.env.SignalWorkflow(SignalCourier, ev)
}

// ownKeys lists the keys of this ticket the provider has seen.
func (rt *randomRun) ownKeys() []string {
	var out []string
	for _, k := range rt.h.f.pay.keys() {
		if strings.HasPrefix(k, rt.h.in.TicketID+":") {
			out = append(out, k)
		}
	}
	return out
}

// sentKey picks a key the provider accepted and has not settled yet.
func (rt *randomRun) sentKey(tk models.Ticket) string {
	var keys []string
	for _, k := range rt.ownKeys() {
		if rt.h.f.pay.status(k) == models.RefundSent {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return keys[rt.r.Intn(len(keys))]
}

// decide settles key at the provider once: mostly succeeded, sometimes failed.
func (rt *randomRun) decide(k string) models.MoneyStatus {
	st := models.RefundSucceeded
	if rt.r.Intn(4) == 0 {
		st = models.RefundFailed
	}
	return rt.h.f.pay.settle(k, st)
}

func (rt *randomRun) paymentEvent(tk models.Ticket) {
	h, r := rt.h, rt.r
	var ev models.PaymentEvent
	switch {
	case len(rt.payments) > 0 && r.Intn(4) == 0:
		ev = rt.payments[r.Intn(len(rt.payments))]
		rt.logf("payment %s %s %s (duplicate)", ev.EventID, ev.RefundKey, ev.Status)
	default:
		keys := rt.ownKeys()
		if len(keys) == 0 || r.Intn(10) == 0 {
			keys = h.f.pay.keys() // now and then another ticket's key: ignored
		}
		if len(keys) == 0 {
			rt.logf("no payment to report")
			return
		}
		k := keys[r.Intn(len(keys))]
		st := h.f.pay.status(k)
		if st == models.RefundSent {
			st = rt.decide(k)
		}
		h.events++
		ev = models.PaymentEvent{EventID: fmt.Sprintf("p-%d", h.events), TicketID: h.in.TicketID, RefundKey: k, Status: st,
			ProviderRef: "pay-" + k, Reason: reasonFor(st)}
		rt.payments = append(rt.payments, ev)
		rt.logf("payment %s %s %s", ev.EventID, ev.RefundKey, ev.Status)
	}
	// As the webhook endpoint does: the ledger records the event first.
	_, _ = h.f.ledger.MarkRefund(context.Background(), ev.RefundKey, ev.Status, ev.ProviderRef)
	h.env.SignalWorkflow(SignalPayment, ev)
}
