package models

import "time"

// The interpreter's own rules: when the ticket's one timer wakes it, and when
// its run may end. The workflow (workflows/ticket.go) keeps no rule of its own:
// it asks these with what only it knows, whether effects it started are still
// running or waiting out a pause (effectsIdle: none are).

// The wakes of an ended ticket that are no deadline of the state table: the run
// waits for them only to know when it may end, and never feeds them to Decide.
const (
	// WakeEvaluationWindow: the buyer's evaluation window closes.
	WakeEvaluationWindow = "evaluation_window"
	// WakeLateMoneyWindow: an ended ticket stops taking late money and goods.
	WakeLateMoneyWindow = "late_money_window"
)

// IsDeadline reports whether a wake named name is a deadline Decide takes
// (Input.Deadline), as opposed to a wake the run only waits for.
func IsDeadline(name string) bool {
	return name != "" && name != WakeEvaluationWindow && name != WakeLateMoneyWindow
}

// NextWake returns what the ticket's timer waits for at now, and when: name is
// "" when nothing is to wait for.
//   - An ended ticket with money it started after the end still in flight, and
//     no effect running or paused, looks it up every refund_timeout (ReconcileBy,
//     the deadlineRules entry for ended tickets).
//   - Otherwise an ended ticket waits for its evaluation window, then, under the
//     money rules that keep it (keepsLateMoney), for its late money window.
//   - A live ticket waits for its running deadline, unless deadlineRules says
//     another process keeps it (Elsewhere: decide_by of a running escalation).
func NextWake(t Ticket, p Policy, now time.Time, effectsIdle bool) (name string, at time.Time) {
	switch {
	case effectsIdle && match(deadlineRules, ReconcileBy, t, ReconcileBy) != nil:
		// Money started after the end and never answered: look it up now and then.
		return ReconcileBy, now.Add(p.RefundTimeout.D())
	case t.State.Terminal():
		if end := t.EndedAt.Add(p.EvaluationWindow.D()); t.Evaluation == nil && now.Before(end) {
			return WakeEvaluationWindow, end
		}
		if keepsLateMoney(t, p) && now.Before(lateUntil(t, p)) {
			return WakeLateMoneyWindow, lateUntil(t, p)
		}
	case t.Deadline != nil:
		if tr := match(deadlineRules, t.Deadline.Name, t, t.Deadline.Name); tr != nil && !tr.Elsewhere {
			return t.Deadline.Name, t.Deadline.At
		}
	}
	return "", time.Time{}
}

// RunFinished reports whether the run of ticket t may end at now: the ticket
// ended, nothing it started is running, paused or in flight, its late money
// window (if it keeps one) has passed, and the buyer's evaluation is in or its
// window closed.
func RunFinished(t Ticket, p Policy, now time.Time, effectsIdle bool) bool {
	if !t.State.Terminal() || !effectsIdle || t.Refunds.Busy() {
		return false
	}
	if keepsLateMoney(t, p) && now.Before(lateUntil(t, p)) {
		return false
	}
	return t.Evaluation != nil || !now.Before(t.EndedAt.Add(p.EvaluationWindow.D()))
}

// keepsLateMoney: the ticket runs under the money rules that keep its run after
// the end for late_money_window (RulesMoneyAnchored), so a late success of a void
// key, a charge back settling or a parcel after a write-off still reaches Decide.
// A ticket created before ends as it did.
func keepsLateMoney(t Ticket, p Policy) bool {
	return t.Rules >= RulesMoneyAnchored && p.LateMoneyWindow > 0
}

// lateUntil is when an ended ticket stops taking late money and goods.
func lateUntil(t Ticket, p Policy) time.Time { return t.EndedAt.Add(p.LateMoneyWindow.D()) }
