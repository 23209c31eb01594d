package activities

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// refusingPayment answers every refund as a provider that will not pay it does:
// 422, account closed.
type refusingPayment struct {
	Payment
	calls int
}

func (p *refusingPayment) Refund(context.Context, MoneyRequest) (Receipt, error) {
	p.calls++
	return Receipt{}, &providerapi.Error{API: "payment", Method: "POST", Path: "/refunds", Status: 422, Body: `{"error":"account closed"}`}
}

func (p *refusingPayment) Lookup(context.Context, string) (Receipt, bool, error) {
	return Receipt{}, false, nil // a refused request is never stored by the provider
}

// A provider's final refusal voids the key in the ledger at once (its room goes
// back to the order) and comes back as models.RefusedByProvider, not retried;
// the same key sent again gets the same answer without a provider call.
func TestMoveMoneyRefusedVoidsTheKey(t *testing.T) {
	db, err := store.Open("sqlite:" + filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pay := &refusingPayment{}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := &Activities{Ledger: db, Payment: pay}
	env.RegisterActivity(acts)
	req := MoneyRequest{Key: "T1:refund:1", Purpose: models.PurposeRefund, TicketID: "T1", ShopID: "shop-1", OrderID: "O1",
		AmountCents: 5000, Currency: "CNY", PaidCents: 5000}

	for range 2 {
		_, err = env.ExecuteActivity(acts.MoveMoney, req)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != models.RefusedByProvider || !appErr.NonRetryable() {
			t.Fatalf("MoveMoney = %v; want a non-retryable %s", err, models.RefusedByProvider)
		}
	}
	if pay.calls != 1 {
		t.Fatalf("the provider was called %d times for one refused key", pay.calls)
	}
	row, err := db.GetRefund(context.Background(), req.Key)
	if err != nil || row.Status != models.RefundVoid {
		t.Fatalf("ledger row %+v, %v; want void", row, err)
	}
	if reserved, _, err := db.OrderRefundTotal(context.Background(), "shop-1", "O1"); err != nil || reserved != 0 {
		t.Fatalf("the order still holds %d for a refused key (%v)", reserved, err)
	}
}
