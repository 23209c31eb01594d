package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/workflows"
)

// Sent names the fields a request's body sent, whatever their value: what a
// body sends is what it states (DESIGN §2 Trust), so a field sent empty is not
// one left out.
type Sent map[string]bool

// CreateTicket opens a ticket.
type CreateTicket struct {
	Request models.CreateTicket
	Sent    Sent
	// TicketID is the id reserved for the ticket with the request's
	// Idempotency-Key; empty: a new one.
	TicketID  string
	RequestID string
}

// Created is a create's answer: the ticket, and whether this create opened it
// (false: an external_id already named it).
type Created struct {
	Ticket models.Ticket
	New    bool
}

// CreateTicket checks a create (limits, who may open it, the trust inputs of
// DESIGN §2), starts the ticket's workflow and writes its creation to the read
// model. Under an external_id the same body answers with the same ticket (New
// false) and another body is ECONFLICT.
func (a *App) CreateTicket(ctx context.Context, p models.Principal, cmd CreateTicket) (Created, error) {
	req := cmd.Request
	if err := refuseEmpty(cmd.Sent, req); err != nil {
		return Created{}, err
	}
	req.Normalize()
	for _, f := range []struct{ name, v string }{{"order_id", req.OrderID}, {"shop_id", req.ShopID}, {"buyer_id", req.BuyerID}} {
		if err := models.CheckID(f.name, f.v); err != nil {
			return Created{}, err
		}
	}
	if err := models.CheckCurrency("currency", req.Currency); err != nil {
		return Created{}, err
	}
	if (p.Role == models.RoleBuyer && p.Subject != req.BuyerID) || (p.Role == models.RoleSeller && p.Subject != req.ShopID) {
		return Created{}, models.Errorf(models.EFORBIDDEN, "a %s key may create tickets only for its own %s", p.Role, map[models.Role]string{models.RoleBuyer: "buyer_id", models.RoleSeller: "shop_id"}[p.Role])
	}
	// The request as the client sent it (normalized) is what a repeat must match:
	// the facts filled in below change as tickets come (recent returns).
	bodyHash := createHash(req)
	flagged, err := a.trustInputs(ctx, p, &req, cmd.Sent)
	if err != nil {
		return Created{}, err
	}
	if err := req.Validate(); err != nil {
		return Created{}, err
	}

	// Under an Idempotency-Key the id was reserved with the key. An external_id
	// is the shop's own reference for the case, idempotent across the shop's
	// seller and the platform; a buyer's is the buyer's own, so a buyer cannot
	// take a shop's reference first.
	id, isNew := cmd.TicketID, true
	if id == "" {
		id = NewTicketID(a.now())
	}
	var stored *models.Ticket // the ticket an external_id already names, as the read model has it
	unclaim := func() {}
	if req.ExternalID != "" {
		scope := "external_id:" + req.ShopID
		if p.Role == models.RoleBuyer {
			scope = "external_id:" + p.Scope()
		}
		claim, err := a.store.ClaimIdempotencyKey(ctx, scope, req.ExternalID, bodyHash, id)
		if err != nil {
			return Created{}, err
		}
		if claim.BodyHash != bodyHash {
			return Created{}, models.Errorf(models.ECONFLICT, "external_id %q was already used for another ticket of shop %s with a different body; use a new external_id for a new case", req.ExternalID, req.ShopID)
		}
		if claim.New {
			// A create refused from here on started nothing: its reference stays free.
			unclaim = func() {
				if err := a.store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), scope, req.ExternalID, id); err != nil {
					a.log.Warn("external_id of a refused create not released", "external_id", req.ExternalID, "error", err)
				}
			}
		} else {
			id, isNew = claim.TicketID, false
			if t, err := a.store.GetTicket(ctx, id); err == nil {
				if t.State.Terminal() {
					return Created{Ticket: t}, nil
				}
				stored = &t
			}
		}
	}
	createdAt := a.now().UTC().Truncate(time.Millisecond)
	var rma string
	if stored != nil {
		// The ticket runs already (perhaps from before line holds and RMA
		// numbers): its start below finds it and answers with it as it is.
		rma = stored.RMA
	} else {
		// The units returned are held before the ticket starts, under the order's
		// lock: of two tickets racing for the last unit one is refused here.
		if err := a.store.HoldUnits(ctx, req.ShopID, req.OrderID, id, req.Items, createdAt); err != nil {
			unclaim()
			return Created{}, err
		}
		var err error
		if rma, err = a.store.AssignRMA(ctx, req.ShopID, id); err != nil {
			return Created{}, err
		}
	}
	in := workflows.TicketInput{TicketID: id, Create: req, Policy: a.policy, BodyHash: bodyHash, BuyerFlagged: flagged,
		Actor: p.Subject, Role: p.Role, RequestID: cmd.RequestID, CreatedAt: createdAt, RMA: rma}
	t, err := a.startTicket(ctx, in)
	return Created{Ticket: t, New: isNew}, err
}

// refuseEmpty refuses a currency or an external_id sent empty or null: left
// out, the currency is CNY and the create has no external_id; sent, each must
// be a real one (DESIGN §4 Limits).
func refuseEmpty(got Sent, req models.CreateTicket) error {
	if err := RefuseEmptyCurrency(got, req.Currency); err != nil {
		return err
	}
	if got["external_id"] {
		return models.CheckID("external_id", req.ExternalID)
	}
	return nil
}

// RefuseEmptyCurrency refuses a currency sent empty or null; left out, it is CNY.
func RefuseEmptyCurrency(got Sent, currency string) error {
	if got["currency"] && strings.TrimSpace(currency) == "" {
		return models.Errorf(models.EINVALID, "currency is empty; send an ISO 4217 code such as CNY, or leave currency out for CNY")
	}
	return nil
}

// startTicket starts the ticket's workflow and writes its creation to the read
// model itself: the created ticket is a pure function of the input
// (workflows.CreatedTicket), so the answer waits for no workflow task. A start
// that finds the ticket's workflow (a retry after a request that ended
// unanswered), or a write that failed, asks the run to write the creation and
// waits for it (syncTicket).
func (a *App) startTicket(ctx context.Context, in workflows.TicketInput) (models.Ticket, error) {
	// Once started, the ticket is written whether or not the caller waits for
	// the answer: until then the read model (lists, GET, actions) lacks it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), UpdateWait)
	defer cancel()
	in.CreationProjected = true
	created, err := workflows.CreatedTicket(in)
	if err != nil {
		return created, err
	}
	_, err = a.temporal.ExecuteWorkflow(ctx, workflows.StartOptions(in), workflows.TicketWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return a.syncTicket(ctx, in.TicketID)
	case err != nil:
		if _, derr := a.temporal.DescribeWorkflowExecution(ctx, workflows.TicketWorkflowID(in.TicketID), ""); errors.As(derr, new(*serviceerror.NotFound)) {
			// Not started for sure: its units go back now, not after PendingHoldLife.
			if rerr := a.store.ReleaseUnits(ctx, in.TicketID); rerr != nil {
				a.log.Warn("units of a ticket not started not released", "ticket", in.TicketID, "error", rerr)
			}
		}
		return created, DomainError(err)
	}
	if err := a.store.SaveTicket(ctx, created); err != nil {
		return a.syncTicket(ctx, in.TicketID)
	}
	if stored, err := a.store.GetTicket(ctx, in.TicketID); err == nil {
		return stored, nil
	}
	return created, nil // written a moment ago: a read-model blip answers with what was written
}

// syncTicket asks the ticket's run to write what the read model may lack
// (workflows.UpdateSync, one update id per ticket) and answers with the ticket
// as the read model shows it. A run that has ended answers from the read model.
func (a *App) syncTicket(ctx context.Context, id string) (models.Ticket, error) {
	h, err := a.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.TicketWorkflowID(id), UpdateName: workflows.UpdateSync, UpdateID: "create:" + id,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var t models.Ticket
	if err == nil {
		err = h.Get(ctx, &t)
	}
	stored, serr := a.store.GetTicket(ctx, id)
	switch {
	case serr == nil:
		return stored, nil
	case err == nil:
		return t, nil // a read-model blip: the run's ticket, without its timeline
	case models.ErrorCode(serr) != models.ENOTFOUND:
		return t, serr // neither answered: the database's 503, not the run's end
	}
	return t, DomainError(err)
}

// UpdateWait bounds how long a command waits on its ticket's workflow: past it
// the caller gets EUNAVAILABLE and retries with its Idempotency-Key, which finds
// the update Temporal already has.
const UpdateWait = 60 * time.Second

// NewTicketID returns an id that sorts by day and is unguessable: AS20261123XXXXXXXXXX.
func NewTicketID(now time.Time) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "AS" + now.UTC().Format("20060102") + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:12]
}

// Ticket returns a ticket to one of its parties, with its timeline or (head)
// without; to anyone else, ENOTFOUND, as for a ticket that does not exist, so a
// key does not learn other shops' ids.
func (a *App) Ticket(ctx context.Context, p models.Principal, id string, head bool) (models.Ticket, error) {
	get := a.store.GetTicket
	if head {
		get = a.store.GetTicketHead
	}
	t, err := get(ctx, id)
	if err != nil {
		return t, err
	}
	if !models.IsParty(t, p.Role, p.Subject) {
		return t, models.Errorf(models.ENOTFOUND, "ticket %s not found", id)
	}
	return t, nil
}

// Act is one agent action on a ticket.
type Act struct {
	TicketID string
	Action   string
	Body     models.ActionBody
	// IfMatch, when above 0, is the seq the caller last saw: the action is
	// refused with EPRECONDITION if the ticket has moved on since.
	IfMatch int64
	// UpdateID makes a retried request apply once (from its Idempotency-Key);
	// empty: a fresh one.
	UpdateID  string
	RequestID string
}

// Act sends one action to the ticket (a Temporal update, validated before it
// enters history) and answers with the ticket after it, timeline included.
func (a *App) Act(ctx context.Context, p models.Principal, cmd Act) (models.Ticket, error) {
	if !slices.Contains(models.Actions, cmd.Action) {
		return models.Ticket{}, models.Errorf(models.ENOTFOUND, "unknown action %q; actions are %s", cmd.Action, strings.Join(models.Actions, ", "))
	}
	t, err := a.Ticket(ctx, p, cmd.TicketID, true) // the answer reads the ticket again, after the action
	if err != nil {
		return t, err
	}
	req := models.ActionRequest{Action: cmd.Action, Actor: p.Subject, Role: p.Role, RequestID: cmd.RequestID, Body: cmd.Body,
		IfMatch: cmd.IfMatch, ReadSeq: t.Seq}
	uctx, cancel := context.WithTimeout(ctx, UpdateWait)
	defer cancel()
	h, err := a.temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.TicketWorkflowID(t.ID), UpdateName: workflows.UpdateAction,
		UpdateID: cmd.UpdateID, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return t, actionError(t, err)
	}
	var res workflows.ActionResult
	if err := h.Get(uctx, &res); err != nil {
		return t, actionError(t, err)
	}
	// The update answered once the read model had the action: the answer is the
	// ticket as the read model shows it, timeline included (the update's own
	// answer leaves the timeline out, to keep the ticket's history small).
	after, err := a.store.GetTicket(ctx, t.ID)
	if err != nil {
		// Applied all the same: answer with the update's ticket (its timeline is
		// in the read model) rather than an error a caller would retry.
		a.log.Warn("action applied, read model not read", "ticket", t.ID, "error", err)
		return res.Ticket, nil
	}
	return after, nil
}

// actionError explains an action on a ticket whose workflow has finished: it ended
// and its evaluation window closed.
func actionError(t models.Ticket, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) && t.Evaluation != nil {
		return models.Errorf(models.ECONFLICT, "ticket %s has ended and was evaluated; it takes no more actions", t.ID)
	}
	if errors.As(err, &nf) && t.EndedAt != nil {
		return models.Errorf(models.ECONFLICT, "ticket %s ended at %s and its evaluation window has closed; it takes no more actions",
			t.ID, t.EndedAt.UTC().Format(time.RFC3339))
	}
	return DomainError(err)
}
