package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
)

// compensationChange is the GetVersion change id of a compensation that
// settles under the money rules (version 1): the watch waits for the provider's
// answer (its webhook, or a lookup by key), pays again under a new key once a
// key is confirmed void or refused, and tells the platform when it cannot. Before
// it the watch ended as soon as the provider took the payment, and a failure
// after "sent" was never paid again.
const compensationChange = "compensation-settles"

// WatchCompensationFailed: every key the watch tried was refused or confirmed
// void; the platform was told.
const WatchCompensationFailed = "compensation_failed"

const (
	// compensationKeys is how many keys a compensation tries before the platform is told.
	compensationKeys = 3
	// compensationLookups bounds the wait for one key's answer: lookups paced from
	// a minute, doubling, up to maxPause (about two days in all).
	compensationLookups = 12
)

// settleCompensation pays s.CompensationCents until the provider confirms it.
// Each key's answer comes by the payment webhook (the API signals the watch) or
// by a lookup; a key refused or confirmed void is replaced, up to
// compensationKeys; a key unanswered after compensationLookups lookups, or the
// last key void, is the platform's to settle, and it is told. s shows each step.
func settleCompensation(ctx workflow.Context, in ShippingWatchInput, s *ShippingWatch) error {
	actx := workflow.WithActivityOptions(ctx, providerOptions)
	payments := workflow.GetSignalChannel(ctx, SignalPayment)
	for n := 1; n <= compensationKeys; n++ {
		s.State, s.CompensationKey = WatchCompensating, in.compensationKey(n)
		req := activities.MoneyRequest{Key: s.CompensationKey, Purpose: models.PurposeCompensate,
			TicketID: in.WorkflowID(), ShopID: in.ShopID, OrderID: in.OrderID,
			AmountCents: s.CompensationCents, Currency: in.Currency, PaidCents: in.PaidCents}
		var r activities.Receipt
		err := workflow.ExecuteActivity(actx, acts.MoveMoney, req).Get(ctx, &r)
		var appErr *temporal.ApplicationError
		switch {
		case errors.As(err, &appErr) && appErr.Type() == models.RefusedByProvider:
			s.PaymentStatus = models.RefundVoid // the activity voided it in the ledger too
			continue
		case err != nil:
			return err
		}
		s.PaymentStatus = awaitAnswer(ctx, actx, req, r.Status, payments)
		switch s.PaymentStatus {
		case models.RefundSucceeded:
			s.State = WatchCompensated
			return nil
		case models.RefundVoid:
			continue
		}
		return tellPlatform(actx, req.TicketID, fmt.Sprintf("compensation %s of order %s (%d cents) is still %s after %d lookups; reconcile it from the provider's console",
			s.CompensationKey, in.OrderID, s.CompensationCents, s.PaymentStatus, compensationLookups))
	}
	s.State = WatchCompensationFailed
	return tellPlatform(actx, in.WorkflowID(), fmt.Sprintf("compensation of order %s (%d cents) failed under %d keys; pay it by hand",
		in.OrderID, s.CompensationCents, compensationKeys))
}

// awaitAnswer waits for the provider's final word on req's key, starting from
// status: succeeded, or void (a failure the provider confirms when asked), or
// the status it still has after compensationLookups lookups. A payment webhook
// for the key ends a pause at once; a lookup that finds the key unknown sends it
// again under the same key.
func awaitAnswer(ctx, actx workflow.Context, req activities.MoneyRequest, status models.MoneyStatus, payments workflow.ReceiveChannel) models.MoneyStatus {
	for lookups := 0; ; lookups++ {
		switch {
		case status == models.RefundSucceeded || status == models.RefundVoid || lookups >= compensationLookups:
			return status
		case status == models.RefundFailed:
			// Reported failed: asked by key at once whether it will still pay.
		default:
			if heard := awaitWebhook(ctx, req.Key, min(time.Minute<<min(lookups, 9), maxPause), payments); heard != "" {
				status = next(status, heard)
				continue
			}
		}
		var r activities.Receipt
		if err := workflow.ExecuteActivity(actx, acts.LookupMoney, req.Key).Get(ctx, &r); err != nil {
			continue // the provider is down: asked again after the next pause
		}
		switch r.Status {
		case models.RefundFailed:
			status = models.RefundVoid // confirmed: the activity marked the ledger void
		case "":
			_ = workflow.ExecuteActivity(actx, acts.MoveMoney, req).Get(ctx, &r) // never received: sent again, same key
			status = next(models.RefundSent, r.Status)
		default:
			status = next(status, r.Status)
		}
	}
}

// awaitWebhook waits up to pause for a payment webhook about key and returns
// its status, or "" when the pause ran out first. Webhooks about other keys (an
// earlier key's late word) are dropped: the ledger has them.
func awaitWebhook(ctx workflow.Context, key string, pause time.Duration, payments workflow.ReceiveChannel) models.MoneyStatus {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, pause)
	var heard models.MoneyStatus
	done := false
	for !done && heard == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { done = true })
		sel.AddReceive(payments, func(c workflow.ReceiveChannel, _ bool) {
			var ev models.PaymentEvent
			c.Receive(ctx, &ev)
			if ev.RefundKey == key {
				heard = ev.Status
			}
		})
		sel.Select(ctx)
	}
	return heard
}

// next is the money status rule (models.NextMoneyStatus) for the watch.
func next(cur, reported models.MoneyStatus) models.MoneyStatus {
	n, _ := models.NextMoneyStatus(cur, reported)
	return n
}

// tellPlatform sends the platform a notice about the watch.
func tellPlatform(actx workflow.Context, watchID, message string) error {
	return workflow.ExecuteActivity(actx, acts.Notify, activities.Notice{TicketID: watchID,
		To: string(models.RolePlatform), Message: message}).Get(actx, nil)
}
