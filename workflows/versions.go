package workflows

import "go.temporal.io/sdk/workflow"

// versionChange is one change id the workflow code passes to workflow.GetVersion.
// The code asks for it where its behaviour before and after the change part; a
// run records the version it took, and a replay of it takes the same path.
//
// The contract, held by the tests named:
//   - every workflow.GetVersion call of this package names a change id listed in
//     versionChanges, with that entry's Max as its maximum, and every entry is
//     asked for (TestVersionChangesMatchCode);
//   - a change to the commands the workflow code issues (an activity, timer,
//     child, signal or marker added, removed or reordered) is guarded by a new
//     change id, or by a higher Max of an existing one, listed here;
//   - the histories recorded before it are kept, unchanged, in a directory of
//     their own, named in Before and in historyDirs, and replayed
//     (TestHistoriesManifest, TestReplayHistories). testdata/histories.sum
//     holds each recorded history's sha256 and the change ids in force when it
//     was recorded (see histories_test.go).
type versionChange struct {
	// ID is the change id, one of the package's constants.
	ID string
	// Max is the maximum version the code asks for; its minimum is always
	// workflow.DefaultVersion (the code before the change).
	Max workflow.Version
	// Versions[v-1] is what version v changed, against the version before it.
	Versions []string
	// Before names the history directories (under workflows/) recorded on the
	// code before version Max: their runs take the older path when they get
	// to the change, and their replay pins it.
	Before []string
}

// versionChanges lists every change id of the workflow code, oldest first.
// An entry is never removed while a directory it names in Before is kept.
var versionChanges = []versionChange{
	{
		ID:  notifyChange,
		Max: 1,
		Versions: []string{
			"A notify effect (the platform told of an overpayment no charge-back recovered) runs the Notify activity; before, it issued no command.",
		},
		// Recorded before the change, but none of its scripts reaches a notify
		// effect: no recorded history takes the older path.
		Before: []string{"testdata/one-timer-per-state"},
	},
	{
		ID:  leanChange,
		Max: 1,
		Versions: []string{
			"A deadline timer due no later than the next deadline is kept instead of cancelled and started again (armDeadline), " +
				"and an effect's first attempt is a local activity, its activity with retries only when that fails (start).",
		},
		Before: []string{"testdata/one-timer-per-state"},
	},
	{
		ID:  creationChange,
		Max: creationLines,
		Versions: []string{
			"A ticket whose starter wrote its creation (TicketInput.CreationProjected) is created before its handlers are registered, " +
				"is not projected in its first workflow task, projects after its task's local attempts, and keeps the lean history without asking leanChange.",
			"The same ticket also runs under models.RulesMoneyAnchored (what moneyRulesChange version 1 gives a ticket whose run writes its creation).",
			"The same ticket runs under models.RulesLines (what moneyRulesChange version 2 gives): a revision and an offer are bounded by what its lines were paid.",
		},
		Before: []string{"testdata/before-lines", "testdata/before-events-first", "testdata/before-money-rules", "testdata/lean-v1", "testdata/one-timer-per-state"},
	},
	{
		ID:  compensationChange,
		Max: 1,
		Versions: []string{
			"The delayed-shipment compensation waits for the provider's answer (webhook or lookup), pays again under a new key once one " +
				"is refused or confirmed void, and tells the platform when it cannot; before, the watch ended when the payment was sent.",
		},
		Before: []string{"testdata/before-money-rules", "testdata/lean-v1", "testdata/one-timer-per-state"},
	},
	{
		ID:  moneyRulesChange,
		Max: moneyRulesLines,
		Versions: []string{
			"A ticket whose run writes its creation runs under models.RulesMoneyAnchored (Ticket.Rules, asked once at creation): a net refund measured against a " +
				"ceiling no late success raises, final refusals void a key, bounded waits, the ledger's order excess charged back, the goods " +
				"rules, and the run kept for late_money_window after the end (a timer).",
			"Version 2 is models.RulesLines: beside version 1's rules, a revision and an offer are bounded by what the ticket's lines were paid.",
		},
		Before: []string{"testdata/before-lines", "testdata/before-events-first", "testdata/before-money-rules", "testdata/lean-v1", "testdata/one-timer-per-state"},
	},
	{
		ID:  eventsFirstChange,
		Max: 1,
		Versions: []string{
			"An action sent while the read model showed the ticket ahead of its history (ActionRequest.ReadSeq above the ticket's seq) is " +
				"decided after the courier and payment events of its workflow task (a marker, and its handler waits for a turn of the main loop); " +
				"before, it was decided first, and its validator refused it when those events were what allowed it.",
		},
		// Every set recorded before it: no recorded script sends an
		// action with a read seq, so none takes either path.
		Before: []string{"testdata/before-events-first", "testdata/before-money-rules", "testdata/lean-v1", "testdata/one-timer-per-state"},
	},
}
