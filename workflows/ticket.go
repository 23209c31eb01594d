package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// UpdateSync returns the ticket once everything before it is committed to the read
// model; the API calls it with the start (update-with-start).
const UpdateSync = "sync"

// acts names the activities; its methods are only referenced, never called here.
var acts *activities.Activities

// TicketWorkflow carries one after-sales ticket from application to evaluation,
// as an interpreter of models.Decide. It keeps no rule of its own:
// every update, signal, effect result, verdict and deadline becomes a
// models.Input; the ticket models.Decide returns is the new state, and the
// effects it asks for run as activities (or as the escalation child) with
// bounded retries, outside any lock, their results fed back as inputs. One
// timer runs: it wakes the ticket by its deadline (see armDeadline).
func TicketWorkflow(ctx workflow.Context, in TicketInput) (models.Ticket, error) {
	m := &machine{in: in, p: in.Policy, seen: map[string]bool{}, failures: map[string]int{},
		busyKeys: map[string]bool{}, paused: map[int]*models.Effect{}, wake: workflow.NewBufferedChannel(ctx, 1)}
	m.sel = workflow.NewSelector(ctx)
	m.searched = startedSearch(ctx)
	if c := in.Carried; c != nil {
		m.t, m.queue, m.runs = c.Ticket, c.Queue, c.Runs
		m.synced, m.resent = m.t.Seq, m.t.Seq
		for _, id := range c.Seen {
			m.remember(id)
		}
		for k, n := range c.Failures {
			m.failures[k] = n
		}
		if err := m.setup(ctx); err != nil {
			return m.t, err
		}
		return m.run(ctx)
	}
	now := workflow.Now(ctx)
	if !in.CreatedAt.IsZero() {
		now = in.CreatedAt
	}
	m.t = models.NewTicket(in.TicketID, in.Create, in.Policy, now)
	if !in.CreationProjected {
		m.t.Rules = int(workflow.GetVersion(ctx, moneyRulesChange, workflow.DefaultVersion, moneyRulesLines))
	} else if v := workflow.GetVersion(ctx, creationChange, workflow.DefaultVersion, creationLines); v >= 1 {
		// The ticket is created before its handlers are set: the create no longer
		// waits for this workflow task, so an action may come in it, and the SDK
		// runs an update as its handler is registered. Version 2 also takes the
		// money rules, version 3 the rules with lines (one marker, where two would
		// cost a search-attribute upsert each).
		switch {
		case v >= creationLines:
			m.t.Rules = models.RulesLines
		case v >= creationMoneyRules:
			m.t.Rules = models.RulesMoneyAnchored
		}
		m.byStarter, m.leanAsked, m.isLean = true, true, true
		if err := m.applyAt(ctx, creationInput(in), now); err != nil {
			return m.t, err
		}
		m.synced = m.t.Seq // the starter wrote it; resent stays 0 until a write confirms it
		if err := m.setup(ctx); err != nil {
			return m.t, err
		}
		return m.run(ctx)
	}
	if err := m.setup(ctx); err != nil {
		return m.t, err
	}
	if err := m.applyAt(ctx, creationInput(in), now); err != nil {
		return m.t, err
	}
	return m.run(ctx)
}

// creationChange is the GetVersion change id of a creation the starter wrote
// to the read model (TicketInput.CreationProjected). Version 1: the run does not
// project the created ticket in its first workflow task (no local activity
// there), a projection waits for the effects' local attempts running in its
// workflow task (one write, and one marker, for a change and its effect's
// result), and it keeps the lean history (leanChange version 1) without asking.
const creationChange = "creation-by-starter"

// creationMoneyRules is creationChange's version 2: the ticket a starter wrote
// also runs under models.RulesMoneyAnchored (what moneyRulesChange gives a ticket
// whose creation the run writes).
const creationMoneyRules = 2

// creationLines is creationChange's version 3: the ticket a starter wrote runs
// under models.RulesLines (what moneyRulesChange version 2 gives).
const creationLines = 3

// creationInput is the create as Decide takes it.
func creationInput(in TicketInput) models.Input {
	return models.Input{Create: &models.CreateInput{Create: in.Create, Actor: in.Actor, Role: in.Role,
		RequestID: in.RequestID, BuyerFlagged: in.BuyerFlagged, RMA: in.RMA}}
}

// CreatedTicket is the ticket a TicketWorkflow started with in holds after its
// creation, timeline included: a pure function of in, so the starter can write
// it to the read model as the run would. in.CreatedAt must be set.
func CreatedTicket(in TicketInput) (models.Ticket, error) {
	t := models.NewTicket(in.TicketID, in.Create, in.Policy, in.CreatedAt)
	t.Rules = models.RulesLines // what creationChange gives a run started now
	t, _, err := models.Decide(t, in.Policy, creationInput(in), in.CreatedAt)
	return t, err
}

// moneyRulesChange is the GetVersion change id of the money rules a ticket runs
// under (models.Ticket.Rules) when its run writes its creation; a ticket whose
// starter wrote it takes them with creationChange's version 2. Asked once as the
// ticket is created and kept by the ticket to its end (continue-as-new carries it). Version 1 is
// models.RulesMoneyAnchored: a net refund measured against a ceiling no late
// success raises, final refusals void a key, every wait bounded, the ledger's
// order excess charged back. A ticket created before keeps the rules it ran on.
const moneyRulesChange = "money-rules"

// moneyRulesAnchored is moneyRulesChange's version 1, the rules it selects
// (a literal, so versionChanges' check can read it; the line after it fails to
// compile if it ever differs from models.RulesMoneyAnchored).
const moneyRulesAnchored = 1

var _ = [1]struct{}{}[moneyRulesAnchored-models.RulesMoneyAnchored]

// moneyRulesLines is moneyRulesChange's version 2, models.RulesLines (checked
// as moneyRulesAnchored is).
const moneyRulesLines = 2

var _ = [1]struct{}{}[moneyRulesLines-models.RulesLines]

// eventsFirstChange is the GetVersion change id of an action sent while the
// read model showed the ticket ahead of its history (ActionRequest.ReadSeq):
// version 1 decides it after the courier and payment events of its workflow
// task (the handler waits for a turn of the main loop); before, it was decided
// first, and refused when those events were what made it allowed.
const eventsFirstChange = "events-before-actions"

// machine is the private state of one TicketWorkflow run.
type machine struct {
	in       TicketInput
	p        models.Policy
	t        models.Ticket
	seen     map[string]bool // webhook event ids applied (signals are deduplicated here)
	seenList []string        // the same ids, oldest first: the newest maxSeen are kept
	runs     int             // runs before this one (continue-as-new)

	sel      workflow.Selector
	wake     workflow.Channel       // an update changed the ticket: the loop looks again
	queue    []models.Effect        // asked for and not started yet: the loop starts them
	failures map[string]int         // money keys whose last effect gave up, and how often in a row
	busyKeys map[string]bool        // "<kind> <key>" of the money effects running or waiting to
	running  int                    // effects started and not yet answered
	paused   map[int]*models.Effect // money effects waiting out a pause before they start
	timer    *deadlineTimer
	child    workflow.ChildWorkflowFuture
	searched searchState
	synced   int64 // the read model has the ticket up to this Seq (one projection at a time)
	resent   int64 // the next projection sends the timeline past this Seq: synced, or less when unconfirmed
	confirm  bool  // a starter asked (UpdateSync): write what is unconfirmed now
	// byStarter: this run records creationChange (its creation was the
	// starter's to write); localAttempts: effects' local attempts running.
	byStarter     bool
	localAttempts int
	pauses        int // pauses started so far: the next pause's id
	turns         int // the main loop's selects so far (eventsFirstChange)
	// isLean, once leanAsked: this run keeps the lean history (leanChange).
	leanAsked, isLean bool
}

// deadlineTimer is the one timer of the ticket, for the deadline it was started for.
type deadlineTimer struct {
	name   string
	at     time.Time
	cancel workflow.CancelFunc
}

// setup registers the query, the action update with its validator (Decide on a
// copy: a refused action never enters history) and the signal channels.
func (m *machine) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryTicket, func() (models.Ticket, error) { return m.t, nil }); err != nil {
		return err
	}
	courier, payment := workflow.GetSignalChannel(ctx, SignalCourier), workflow.GetSignalChannel(ctx, SignalPayment)
	validate := func(ctx workflow.Context, req models.ActionRequest) error {
		_, _, err := models.Decide(m.t, m.p, models.Input{Action: &req}, workflow.Now(ctx))
		if err != nil && req.ReadSeq > m.t.Seq {
			// The read model is ahead of this history: a worker wrote it and died
			// before its workflow task completed, and the retried task carries the
			// events again, this action with them. The SDK validates an update
			// before the main loop takes those events (it may hold one already,
			// out of sight of the channel), so the handler decides it after them.
			return nil
		}
		return asApplicationError(err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAction, func(ctx workflow.Context, req models.ActionRequest) (ActionResult, error) {
		if req.ReadSeq > m.t.Seq && workflow.GetVersion(ctx, eventsFirstChange, workflow.DefaultVersion, 1) >= 1 {
			// One turn of the main loop takes the event it holds; the rest wait in
			// the channels.
			turns := m.turns
			m.wake.SendAsync(struct{}{})
			if err := workflow.Await(ctx, func() bool { return m.turns > turns && courier.Len() == 0 && payment.Len() == 0 }); err != nil {
				return ActionResult{}, err
			}
		}
		// Another message may have moved the ticket since validation: decide again.
		if err := m.apply(ctx, models.Input{Action: &req}); err != nil {
			return ActionResult{}, asApplicationError(err)
		}
		m.wake.SendAsync(struct{}{})
		// The answer waits for the read model, so a GET right after sees it.
		t := m.t
		if err := workflow.Await(ctx, func() bool { return m.synced >= t.Seq }); err != nil {
			return ActionResult{}, err
		}
		return ActionResult{Ticket: withoutTimeline(t)}, nil
	}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateSync, func(ctx workflow.Context) (models.Ticket, error) {
		// The ticket once its creation and everything before is in the read model
		// (the handler may run before the creation is applied). A starter that
		// asks had no answer to its own write of the creation: write it again.
		m.confirm = true
		err := workflow.Await(ctx, func() bool { return m.t.Seq > 0 && m.resent >= m.t.Seq })
		return withoutTimeline(m.t), err
	}); err != nil {
		return err
	}
	m.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalCourier), func(c workflow.ReceiveChannel, _ bool) {
		var ev models.CourierEvent
		c.Receive(ctx, &ev)
		m.once(ev.EventID, func() error { return m.apply(ctx, models.Input{Courier: &ev}) })
	})
	m.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalPayment), func(c workflow.ReceiveChannel, _ bool) {
		var ev models.PaymentEvent
		c.Receive(ctx, &ev)
		applied := false
		m.once(ev.EventID, func() error {
			err := m.apply(ctx, models.Input{Payment: &ev})
			applied = err == nil
			return err
		})
		if applied || m.t.Rules < models.RulesMoneyAnchored {
			// The provider spoke: what waited on its key goes now. A report the
			// ticket refused (a repeat, one that ranks below what it knows) is no
			// news, and does not cut the pacing short.
			m.resume(ctx, ev.RefundKey)
		}
	})
	m.sel.AddReceive(m.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
	workflow.Go(ctx, m.project)
	return nil
}

// withoutTimeline is the ticket an update answers with: the timeline is in the
// read model, and sending it with every answer would grow history with its square.
func withoutTimeline(t models.Ticket) models.Ticket {
	t.Timeline = nil
	return t
}

// once applies a webhook event at most once by its id. An event the ticket
// refused (it came before its time, say) is not marked seen: the courier's retry
// may apply later.
func (m *machine) once(eventID string, apply func() error) {
	if eventID != "" && m.seen[eventID] {
		return
	}
	if apply() == nil && eventID != "" {
		m.remember(eventID)
	}
}

// maxSeen bounds the event ids a ticket remembers: a provider retries a webhook
// for hours, not for thousands of events later.
const maxSeen = 500

func (m *machine) remember(eventID string) {
	m.seen[eventID] = true
	m.seenList = append(m.seenList, eventID)
	if len(m.seenList) > maxSeen {
		delete(m.seen, m.seenList[0])
		m.seenList = m.seenList[1:]
	}
}

// apply feeds one input to Decide and, when the ticket accepts it, takes the new
// ticket, queues its effects for the main loop and writes what changed to the
// read model and the search attributes. Decide never blocks, so nothing else runs
// in between. ctx is the caller's own: the main loop's, or an update handler's.
func (m *machine) apply(ctx workflow.Context, in models.Input) error {
	return m.applyAt(ctx, in, workflow.Now(ctx))
}

func (m *machine) applyAt(ctx workflow.Context, in models.Input, now time.Time) error {
	t, effects, err := models.Decide(m.t, m.p, in, now)
	if err != nil {
		return err
	}
	m.t = t
	m.queue = append(m.queue, effects...)
	m.sync(ctx)
	return nil
}

// run waits for whatever comes next until the ticket has ended, its money has
// settled and its evaluation window has passed.
func (m *machine) run(ctx workflow.Context) (models.Ticket, error) {
	for {
		if err := ctx.Err(); err != nil {
			// Cancelled (an operator's request): nothing more is started.
			return m.t, err
		}
		// Effects start here, on the main loop's context, whoever asked for them:
		// their results come back through the selector, also on this loop.
		for len(m.queue) > 0 {
			e := m.queue[0]
			m.queue = m.queue[1:]
			m.startLater(ctx, e)
		}
		if done, cont := m.finished(ctx), m.continueNow(ctx); done || cont {
			// Before the run ends the read model and every handler catch up, unless
			// something comes in meanwhile: that is handled first, on this loop.
			if err := workflow.Await(ctx, func() bool { return m.settled(ctx) || m.sel.HasPending() }); err != nil {
				return m.t, err
			}
			if !m.sel.HasPending() && len(m.queue) == 0 {
				if cont {
					return m.continueAsNew(ctx)
				}
				if m.timer != nil && !m.isLean {
					// The server drops a timer with its run; a cancel is one more
					// event, which the code before leanChange spent.
					m.timer.cancel()
				}
				return withoutTimeline(m.t), nil
			}
		}
		m.armDeadline(ctx)
		m.sel.Select(ctx)
		m.turns++
	}
}

// settled: every update handler answered and the read model has the ticket.
func (m *machine) settled(ctx workflow.Context) bool {
	return workflow.AllHandlersFinished(ctx) && m.synced >= m.t.Seq
}

// continueAfterEvents is the history length past which a run hands the ticket to
// a new one: far above a ticket's usual 40 to 60 events, far below Temporal's
// limits, so only a ticket with hundreds of replies or retries continues.
const continueAfterEvents = 1000

// continueNow: the history is long (or the server suggests it) and nothing the
// run started is in flight. An activity's or the escalation's result belongs to
// this run (and the escalation child would end with it), so the ticket waits for
// a quiet moment.
func (m *machine) continueNow(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	long := info.GetCurrentHistoryLength() >= continueAfterEvents || info.GetContinueAsNewSuggested()
	return long && m.running == 0 && m.child == nil && len(m.queue) == 0
}

func (m *machine) continueAsNew(ctx workflow.Context) (models.Ticket, error) {
	c := &Carried{Ticket: withoutTimeline(m.t), Seen: m.seenList, Failures: m.failures, Runs: m.runs + 1, Queue: m.queue}
	ids := make([]int, 0, len(m.paused))
	for id := range m.paused {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the order they were paused in, not the map's
	for _, id := range ids {
		c.Queue = append(c.Queue, *m.paused[id])
	}
	c.Ticket.Timeline = []models.Event{}
	next := m.in
	next.Carried = c
	return m.t, workflow.NewContinueAsNewError(ctx, TicketWorkflow, next)
}

// finished: the run may end (models.RunFinished): the ticket ended, nothing it
// started is still running, and the buyer's evaluation is in or its window closed.
func (m *machine) finished(ctx workflow.Context) bool {
	return models.RunFinished(m.t, m.p, workflow.Now(ctx), m.effectsIdle())
}

// effectsIdle: no effect this run started is running or waiting out a pause.
func (m *machine) effectsIdle() bool { return m.running == 0 && len(m.paused) == 0 }

// armDeadline keeps a timer on the ticket's running deadline. In escalated the
// escalation runs the deadlines; after the end the timer waits for the
// evaluation window.
//
// Before version leanChange a deadline that moved cancelled the old timer
// and started one for the new. Since, a timer due at or before the new deadline
// is kept (a step taken well before its deadline is the usual case, and the next
// state's deadline then falls later): when it fires early the loop arms one for
// the deadline that runs by then. A deadline fires at its time either way; a
// ticket that moves quickly starts one timer instead of one per state.
func (m *machine) armDeadline(ctx workflow.Context) {
	name, at := m.target(ctx)
	if name == models.ReconcileBy && m.timer != nil && m.timer.name == name {
		return // the check already waits
	}
	if m.timer != nil && m.timer.name == name && m.timer.at.Equal(at) {
		return
	}
	if m.timer != nil && m.keepsTimer(ctx, name, at) {
		return
	}
	if m.timer != nil {
		m.timer.cancel()
		m.timer = nil
	}
	if name == "" {
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	dt := &deadlineTimer{name: name, at: at, cancel: cancel}
	m.timer = dt
	m.sel.AddFuture(workflow.NewTimer(tctx, max(at.Sub(workflow.Now(ctx)), 0)), func(f workflow.Future) {
		if f.Get(ctx, nil) != nil || m.timer != dt {
			return // cancelled: the deadline moved
		}
		m.timer = nil
		name := dt.name
		if m.isLean && name != models.ReconcileBy {
			// The timer may have been kept for a later deadline: the one that runs
			// now fires if it is due; if not, the loop arms a timer for it.
			var at time.Time
			if name, at = m.target(ctx); name == "" || name == models.ReconcileBy || workflow.Now(ctx).Before(at) {
				return
			}
		}
		if models.IsDeadline(name) {
			// A metric is no command: replay neither emits it nor minds it.
			workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"deadline": name}).
				Counter("aftersales_deadlines_fired").Inc(1)
			_ = m.apply(ctx, models.Input{Deadline: name}) // refused when stale
		}
	})
}

// target is what the ticket's timer waits for now ("" for none): models.NextWake.
func (m *machine) target(ctx workflow.Context) (name string, at time.Time) {
	return models.NextWake(m.t, m.p, workflow.Now(ctx), m.effectsIdle())
}

// leanChange is the GetVersion change id of the interpreter's lean history;
// version 1: a timer due before the deadline is kept (armDeadline) and an
// effect's first attempt is a local activity (start). Histories recorded before
// it replay as they ran: a timer per state, every effect an activity.
const leanChange = "lean-history"

// lean reports whether this run keeps the lean history. The version is asked
// where the two behaviours first part (an effect starts, or a timer would be
// kept), so a ticket that never gets there records none.
func (m *machine) lean(ctx workflow.Context) bool {
	if !m.leanAsked {
		m.leanAsked = true
		m.isLean = workflow.GetVersion(ctx, leanChange, workflow.DefaultVersion, 1) == 1
	}
	return m.isLean
}

// keepsTimer: the running timer, due no later than the deadline at, wakes the
// ticket in time for it. The version is asked only here, where the two
// behaviours part, so a ticket whose deadline never moves later records none.
// The lookup after the end keeps its own timer (its moment moves with the clock).
func (m *machine) keepsTimer(ctx workflow.Context, name string, at time.Time) bool {
	if name == "" || name == models.ReconcileBy || m.timer.name == models.ReconcileBy || m.timer.at.After(at) {
		return false
	}
	return m.lean(ctx)
}

// asApplicationError turns a refusal by Decide into the application error an
// update's caller receives, with the error's code as its type.
func asApplicationError(err error) error {
	var e *models.Error
	if err == nil {
		return nil
	} else if errors.As(err, &e) {
		return temporal.NewNonRetryableApplicationError(e.Message, e.Code, nil)
	}
	return err
}
