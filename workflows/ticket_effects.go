package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// Effects retry a few times, backing off, and then report failure as an input, so
// that an outage becomes a decision (look the money up later, book again, escalate)
// instead of a ticket frozen on an activity that retries for ever.
var effectOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: 30 * time.Second, MaximumAttempts: 8,
		NonRetryableErrorTypes: []string{models.ECONFLICT, models.EINVALID}},
}

// lookupOptions: asking the provider about a key is what the ticket does while
// the provider is down, so it backs off further (to 10 minutes, about two hours
// an effect) before the failure comes back to Decide, which asks again.
var lookupOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		MaximumInterval: 10 * time.Minute, MaximumAttempts: 20},
}

// startLater starts e now, or, when the last effect on the same money key gave up
// (the provider is down) or found the key still being paid, after a pause that
// doubles each time in a row, from a minute to six hours: Decide asks again, the
// interpreter paces the asking (a provider silent for a day costs a few lookups,
// not one a minute).
const maxPause = 6 * time.Hour

func (m *machine) startLater(ctx workflow.Context, e models.Effect) {
	if e.Key != "" {
		// One effect per money key at a time: a lookup asked for while another
		// about the same key runs would only ask the same question twice.
		id := string(e.Kind) + " " + e.Key
		if m.busyKeys[id] {
			return
		}
		m.busyKeys[id] = true
	}
	n := m.failures[e.Key]
	if e.Key == "" || n == 0 || e.Kind == models.EffectRecordMoney {
		// The platform's reconcile goes to our ledger, not to the provider: no
		// pause for the provider's troubles.
		m.start(ctx, e)
		return
	}
	pause := min(time.Minute<<min(n-1, 9), maxPause)
	id := m.pauses // never reused: a timer only ever starts its own effect
	m.pauses++
	m.paused[id] = &e
	m.sel.AddFuture(workflow.NewTimer(ctx, pause), func(workflow.Future) {
		if e := m.paused[id]; e != nil {
			delete(m.paused, id)
			m.start(ctx, *e)
		}
	})
}

// resume starts at once the effects paused on key, and forgets the key's
// failures: an answer from the provider is news that pacing would only delay.
func (m *machine) resume(ctx workflow.Context, key string) {
	delete(m.failures, key)
	ids := make([]int, 0, len(m.paused))
	for id, e := range m.paused {
		if e.Key == key {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // the order they were asked in, not the map's
	for _, id := range ids {
		e := *m.paused[id]
		delete(m.paused, id)
		m.start(ctx, e)
	}
}

// start runs one effect and feeds its result back when it completes.
func (m *machine) start(ctx workflow.Context, e models.Effect) {
	opts := effectOptions
	if e.Kind == models.EffectLookupMoney {
		opts = lookupOptions
	}
	actx := workflow.WithActivityOptions(ctx, opts)
	// A lookup is what runs while the provider is down, and a key whose last
	// effect gave up names a provider that is: neither is tried in the workflow
	// task, where a slow answer would hold the ticket.
	lean := e.Kind != models.EffectNotify && e.Kind != models.EffectLookupMoney && m.failures[e.Key] == 0 && m.lean(ctx)
	run := func(fn any, args ...any) workflow.Future {
		if lean {
			return m.localFirst(ctx, actx, fn, args, args)
		}
		return workflow.ExecuteActivity(actx, fn, args...)
	}
	t := m.t
	var (
		f      workflow.Future
		decode func(workflow.Future) models.EffectResult
	)
	booking := func(f workflow.Future) models.EffectResult {
		var b activities.Booking
		err := f.Get(ctx, &b)
		return withError(models.EffectResult{BookingID: b.BookingID, TrackingNo: b.TrackingNo}, err)
	}
	receipt := func(f workflow.Future) models.EffectResult {
		var r activities.Receipt
		err := f.Get(ctx, &r)
		return withError(models.EffectResult{Status: r.Status, ProviderRef: r.ProviderRef, Reason: r.Reason,
			OrderOverCents: r.OrderOverCents}, err)
	}
	plain := func(f workflow.Future) models.EffectResult { return withError(models.EffectResult{}, f.Get(ctx, nil)) }
	switch e.Kind {
	case models.EffectBookPickup, models.EffectBookSwap:
		book := acts.BookPickup
		if e.Kind == models.EffectBookSwap {
			book = acts.BookSwapVisit
		}
		f, decode = run(book, activities.PickupRequest{TicketID: t.ID, Address: t.PickupAddress,
			Attempt: e.Attempt, Items: t.Items, ExchangeSKU: t.ExchangeSKU}), booking
	case models.EffectCancelPickup:
		f, decode = run(acts.CancelPickup, activities.Booking{BookingID: e.BookingID}, t.ID), plain
	case models.EffectVerifyTracking:
		f = run(acts.VerifyTracking, e.Carrier, e.TrackingNo)
		decode = func(f workflow.Future) models.EffectResult {
			var ok bool
			err := f.Get(ctx, &ok)
			return withError(models.EffectResult{Verified: ok}, err)
		}
	case models.EffectShipReplacement:
		f, decode = run(acts.ShipReplacement,
			activities.ShipmentRequest{TicketID: t.ID, SKU: t.ExchangeSKU, Address: t.PickupAddress}), booking
	case models.EffectSendToRepair:
		f, decode = run(acts.SendToRepair,
			activities.ShipmentRequest{TicketID: t.ID, Items: t.Items, Address: t.PickupAddress}), booking
	case models.EffectMoveMoney:
		req := activities.MoneyRequest{Key: e.Key, Purpose: e.Purpose,
			TicketID: t.ID, ShopID: t.ShopID, OrderID: t.OrderID, AmountCents: e.AmountCents, Currency: t.Currency, PaidCents: t.Order.PaidCents}
		if i := t.Refunds.Find(e.Key); i >= 0 {
			req.Lines = t.Refunds[i].Lines // the lines it was started with, sent again with it
		}
		decode = receipt
		if lean {
			again := req
			again.Retry = true // after a local attempt, which may have paid: the activity looks the key up first
			f = m.localFirst(ctx, actx, acts.MoveMoney, []any{req}, []any{again})
		} else {
			f = workflow.ExecuteActivity(actx, acts.MoveMoney, req)
		}
	case models.EffectLookupMoney:
		f, decode = run(acts.LookupMoney, e.Key), receipt
	case models.EffectRecordMoney:
		f, decode = run(acts.ReconcileMoney, e.Key, e.Status), receipt
	case models.EffectStartEscalation:
		m.startEscalation(ctx, e)
		return
	case models.EffectSendEvidence:
		if m.child != nil {
			f, decode = m.child.SignalChildWorkflow(ctx, SignalEvidence, EvidenceSignal{Role: e.Evidence.Role, Note: *e.Evidence}), plain
		}
	case models.EffectNotify:
		// Added after the first release of the interpreter: histories recorded
		// before it asked nobody and must replay as they ran.
		if workflow.GetVersion(ctx, notifyChange, workflow.DefaultVersion, 1) == 1 {
			f, decode = workflow.ExecuteActivity(actx, acts.Notify, activities.Notice{TicketID: t.ID, To: string(e.To), Message: e.Message}), plain
		}
	case models.EffectEndEscalation:
		// Decided on the ticket (the arbiter's action): the escalation is told the
		// verdict and ends with it; the ticket refuses it as already applied.
		if m.child != nil {
			v := Verdict{Verdict: m.t.Escalation.Verdict, RefundCents: m.t.Escalation.RefundCents}
			f, decode = m.child.SignalChildWorkflow(ctx, SignalArbitrate, v), plain
		}
	}
	if f == nil {
		return
	}
	m.running++
	m.sel.AddFuture(f, func(f workflow.Future) {
		m.running--
		r := decode(f)
		r.Effect = e
		delete(m.busyKeys, string(e.Kind)+" "+e.Key)
		_ = m.apply(ctx, models.Input{Result: &r}) // a result that no longer applies is dropped
		if e.Key != "" {
			// Pace what Decide asks again: a call that gave up, or a lookup that
			// found the key still being paid at the provider. A provider that
			// answered otherwise (never received: sent again; paid; failed) is up,
			// and what follows goes at once.
			refused := r.Code == models.RefusedByProvider && m.t.Rules >= models.RulesMoneyAnchored
			if r.Failed && !refused || (e.Kind == models.EffectLookupMoney && r.Status == models.RefundSent) {
				m.failures[e.Key]++
			} else {
				delete(m.failures, e.Key)
			}
		}
	})
}

// localFirstOptions: the first attempt of an effect, as a local activity, has
// two seconds: a provider that answers at once is the usual case, and one that
// does not is tried again as an activity, outside the workflow task. The update
// that asked for the effect answers when the workflow task completes, so this
// bounds how long a slow provider holds an agent's click.
var localFirstOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 2 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// localFirst runs fn once as a local activity and, when that attempt fails in
// a way another attempt could mend, as an activity with actx's retries. The
// local attempt runs in the workflow task that asked for the effect and records
// its result there: no activity task, no workflow task of its own. A refusal
// (a non-retryable error, such as the ledger's ECONFLICT) is the answer as it
// is. The activity gets again as its arguments; the effects are idempotent by
// their keys, so an attempt that timed out after it reached the provider is
// safe to make again.
// While it runs, m.localAttempts counts it (see project).
func (m *machine) localFirst(ctx, actx workflow.Context, fn any, first, again []any) workflow.Future {
	f, set := workflow.NewFuture(ctx)
	local := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localFirstOptions), fn, first...)
	m.localAttempts++
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := local.Get(ctx, nil)
		m.localAttempts--
		var appErr *temporal.ApplicationError
		if err == nil || errors.As(err, &appErr) && (appErr.NonRetryable() ||
			slices.Contains(workflow.GetActivityOptions(actx).RetryPolicy.NonRetryableErrorTypes, appErr.Type())) {
			set.Chain(local)
			return
		}
		set.Chain(workflow.ExecuteActivity(actx, fn, again...))
	})
	return f
}

// startEscalation starts the platform intervention as a child workflow, which owns
// the evidence and decision deadlines and returns its verdict.
func (m *machine) startEscalation(ctx workflow.Context, e models.Effect) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        fmt.Sprintf("%s-escalation-%d", TicketWorkflowID(m.t.ID), m.t.Escalations),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	})
	in := EscalationInput{TicketID: m.t.ID, EscalatedBy: e.Escalation.By, From: e.Escalation.From,
		EvidenceBy: e.Escalation.EvidenceBy, DecideBy: e.Escalation.DecideBy, BuyerClaimCents: e.Escalation.ClaimCents}
	child := workflow.ExecuteChildWorkflow(cctx, EscalationWorkflow, in)
	m.child = child
	m.running++
	m.sel.AddFuture(child, func(f workflow.Future) {
		m.running--
		var v Verdict
		err := f.Get(ctx, &v)
		if m.child != child {
			return // an earlier escalation: the ticket has been decided since
		}
		m.child = nil
		switch {
		case err != nil:
			r := models.EffectResult{Effect: e, Failed: true, Reason: err.Error()}
			_ = m.apply(ctx, models.Input{Result: &r})
		default:
			err := m.apply(ctx, models.Input{Verdict: &models.Verdict{Verdict: v.Verdict, RefundCents: v.RefundCents,
				Note: v.Note, Actor: v.Actor, Automatic: v.Automatic}})
			if err != nil && m.t.State == models.StateEscalated {
				// The ticket refused the escalation's verdict: it is still escalated
				// and nothing would decide it, so it keeps decide_by itself.
				r := models.EffectResult{Effect: e, Failed: true, Reason: "verdict refused: " + err.Error()}
				_ = m.apply(ctx, models.Input{Result: &r})
			}
		}
	})
}

// notifyChange is the GetVersion change id of running notify effects as activities.
const notifyChange = "notify-activity"

// withError marks an effect's result failed when its activity gave up, with the
// error's code (an application error's type, e.g. ECONFLICT from the ledger).
func withError(r models.EffectResult, err error) models.EffectResult {
	if err == nil {
		return r
	}
	r.Failed, r.Reason = true, err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		r.Code, r.Reason = appErr.Type(), appErr.Message()
	}
	return r
}
