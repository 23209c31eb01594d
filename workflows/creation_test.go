package workflows

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/models"
)

// byStarter starts the run as the API does: it wrote the created ticket to the
// read model itself (TicketInput.CreationProjected).
func byStarter() harnessOpt {
	return func(h *harness) { h.in.CreatedAt, h.in.CreationProjected = t0, true }
}

// The created ticket is the API's to write: the run's first projection waits
// for the next change, and then sends the whole timeline, the creation's entry
// included (the harness checks the projected timeline has every seq once), in
// case the API's write was lost.
func TestCreationByStarter(t *testing.T) {
	t.Run("the first projection is the next change's, with the whole timeline", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip), byStarter())
		created, err := CreatedTicket(h.in)
		if err != nil {
			t.Fatal(err)
		}
		h.run(
			at(time.Hour, check(func(t *testing.T, tk models.Ticket) {
				eq(t, "the run's ticket is CreatedTicket's", jsonOf(t, tk), jsonOf(t, created))
				eq(t, "projections before any change", len(h.f.store.seqs(tid)), 0)
			}), approve),
			at(2*time.Hour, check(func(t *testing.T, tk models.Ticket) {
				seqs := h.f.store.seqs(tid)
				stored, _ := h.f.store.get(tid)
				eq(t, "projections after approve", len(seqs), 1)
				eq(t, "timeline entries written with it", len(stored.Timeline), int(tk.Seq))
			}), buyer("cancel")),
		)
	})
	t.Run("a change and its effect's local attempt go in one projection", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnPickup), byStarter())
		h.run(
			at(time.Hour, approve),
			at(2*time.Hour, check(func(t *testing.T, tk models.Ticket) {
				stored, _ := h.f.store.get(tid)
				eq(t, "projections after approve and its booking", len(h.f.store.seqs(tid)), 1)
				eq(t, "the booking's entry in it", actionsOf(stored)[len(stored.Timeline)-1], "pickup_booked")
			}), buyer("cancel")),
		)
	})
	t.Run("a starter's sync writes the creation at once", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip), byStarter())
		synced := false
		h.run(
			at(time.Minute, opFunc(func(h *harness) {
				h.env.UpdateWorkflow(UpdateSync, "create:"+tid, &testsuite.TestUpdateCallback{
					OnAccept: func() {}, OnReject: func(err error) { t.Errorf("sync refused: %v", err) },
					OnComplete: func(_ any, err error) {
						if err != nil {
							t.Errorf("sync: %v", err)
						}
						synced = true
					},
				})
			})),
			at(time.Hour, check(func(t *testing.T, tk models.Ticket) {
				eq(t, "sync answered", synced, true)
				stored, ok := h.f.store.get(tid)
				eq(t, "stored", ok, true)
				eq(t, "stored seq", stored.Seq, tk.Seq)
				eq(t, "stored timeline", len(stored.Timeline), int(tk.Seq))
			}), buyer("cancel")),
		)
	})
	t.Run("an action in the run's first workflow task finds the ticket created", func(t *testing.T) {
		h := newHarness(t, newCreate(models.KindReturnRefund, models.ReturnSelfShip), byStarter())
		// At the start's own moment: the test environment hands it to the run's
		// first workflow task, as a server does with an update that comes before it.
		h.env.RegisterDelayedCallback(func() { approve.apply(h) }, 0)
		tk := h.run(at(time.Hour, inState(models.StateAwaitingBuyerShipment)), at(2*time.Hour, buyer("cancel")))
		eq(t, "timeline", fmt.Sprint(actionsOf(tk)[:2]), "[create approve]")
	})
}
