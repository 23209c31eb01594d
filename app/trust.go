package app

import (
	"context"
	"slices"

	"github.com/aftersales/aftersales/models"
)

// trustInputs replaces what a create may not state for itself with what the
// records say (DESIGN §2 Trust): the order's facts from the order record, the
// buyer's credit from the platform's buyer record, recent returns from our own
// tickets. What a create states is what its body sent (got), whatever the
// value: a buyer who sends order or buyer_credit at all, even {} or 0, gets a
// 422 naming the field, as does anyone who sends recent_returns; the platform
// who sends them registers the records as PUT /v1/orders/{id} and PUT
// /v1/buyers/{id} would, and the shop's seller the order. It returns the
// buyer's flag.
func (a *App) trustInputs(ctx context.Context, p models.Principal, req *models.CreateTicket, got Sent) (flagged bool, err error) {
	statesOrder, statesCredit := got["order"], got["buyer_credit"]
	switch {
	case got["recent_returns"]:
		return false, models.Errorf(models.EINVALID, "recent_returns is counted from the buyer's tickets here; leave it out")
	case p.Role == models.RoleBuyer && statesOrder:
		return false, models.Errorf(models.EINVALID, "order is the shop's record, not the buyer's to state: name the order_id and leave order out")
	case p.Role != models.RolePlatform && p.Role != models.RoleAdmin && got["override_note"]:
		return false, models.Errorf(models.EINVALID, "override_note is the platform's, to open what the return windows refuse: leave it out")
	case p.Role != models.RolePlatform && p.Role != models.RoleAdmin && statesCredit:
		// Buyer risk is the platform's record, the same for every shop (§2 Trust).
		return false, models.Errorf(models.EINVALID, "buyer_credit is set by the platform (PUT /v1/buyers/{buyer_id}), not by a %s: leave it out", p.Role)
	}

	rec, err := a.findOrder(ctx, req.ShopID, req.OrderID)
	notTheirs := err == nil && rec.BuyerID != req.BuyerID
	switch {
	case notTheirs:
		// The same words as an unknown order: a caller learns nothing of others' orders.
		return false, unknownOrder(*req)
	case err == nil && statesOrder:
		rec, err = a.registerOrder(ctx, rec, *req)
	case models.ErrorCode(err) == models.ENOTFOUND && statesOrder:
		rec, err = a.registerOrder(ctx, models.Order{}, *req)
	case models.ErrorCode(err) == models.ENOTFOUND:
		return false, unknownOrder(*req)
	}
	if err != nil {
		return false, err
	}
	if req.Currency != rec.Currency {
		return false, models.Errorf(models.EINVALID, "currency %s is not the order's currency %s", req.Currency, rec.Currency)
	}
	req.Order = rec.Info()
	if req.Items, err = orderedItems(req.Items, rec.Items); err != nil {
		return false, err
	}
	if req.RequestedCents, err = models.RequestedForLines(*req); err != nil {
		return false, err
	}
	if err := models.CheckText("override_note", req.OverrideNote); err != nil {
		return false, err
	}
	switch err := models.CheckEligibility(*req, req.Items, rec.DeliveredAt, a.policy.ReturnWindows, a.now()); {
	case err != nil && req.OverrideNote == "":
		return false, err
	case err != nil:
		req.OverrideNote = models.OverrideNote(models.ErrorMessage(err), req.OverrideNote)
	default:
		req.OverrideNote = "" // nothing to override: no audit entry claims otherwise
	}

	buyer, known, err := a.store.GetBuyer(ctx, req.BuyerID)
	if err != nil {
		return false, err
	}
	if statesCredit && (buyer.Credit != req.BuyerCredit || !known) {
		buyer.Credit = req.BuyerCredit
		if err := buyer.Validate(); err != nil {
			return false, models.Errorf(models.EINVALID, "buyer_credit must be 0 to 5 stars")
		}
		if buyer, err = a.store.PutBuyer(ctx, buyer); err != nil {
			return false, err
		}
	}
	req.BuyerCredit = buyer.Credit
	if req.RecentReturns, err = a.store.RecentReturns(ctx, req.BuyerID, a.now().Add(-a.policy.FastReview.RecentWindow.D())); err != nil {
		return false, err
	}
	return buyer.Flagged, nil
}

// orderedItems checks the items a create names against the order's lines: each
// a SKU of the order, at most its quantity. Their price and category are the
// order record's (a price or category sent must be the record's). None named:
// the ticket covers the whole order.
func orderedItems(asked, order []models.Item) ([]models.Item, error) {
	if len(asked) == 0 {
		return order, nil
	}
	lines := make([]models.Item, len(asked))
	for i, it := range asked {
		j := slices.IndexFunc(order, func(o models.Item) bool { return o.SKU == it.SKU })
		switch {
		case slices.IndexFunc(asked[:i], func(o models.Item) bool { return o.SKU == it.SKU }) >= 0:
			return nil, models.Errorf(models.EINVALID, "items[%d]: sku %s is named twice; name each line once with all its units", i, it.SKU)
		case j < 0:
			return nil, models.Errorf(models.EINVALID, "items[%d]: sku %s is not a line of the order", i, it.SKU)
		case it.Qty > order[j].Qty:
			return nil, models.Errorf(models.EINVALID, "items[%d]: qty %d is more than the %d of the order", i, it.Qty, order[j].Qty)
		case it.UnitPaidCents != 0 && it.UnitPaidCents != order[j].UnitPaidCents:
			return nil, models.Errorf(models.EINVALID, "items[%d]: unit_paid_cents %d is not the order's %d; leave it out, the order record's is used", i, it.UnitPaidCents, order[j].UnitPaidCents)
		case it.Category != "" && it.Category != order[j].Category:
			return nil, models.Errorf(models.EINVALID, "items[%d]: category %s is not the category of line %s; leave it out, the order record's is used", i, it.Category, it.SKU)
		}
		lines[i] = models.Item{SKU: it.SKU, Qty: it.Qty, UnitPaidCents: order[j].UnitPaidCents, Category: order[j].Category}
	}
	return lines, nil
}

func unknownOrder(req models.CreateTicket) error {
	return models.Errorf(models.EINVALID, "order_id %s is not a registered order of buyer %s at shop %s; the shop registers its orders with PUT /v1/orders/{order_id}", req.OrderID, req.BuyerID, req.ShopID)
}

// registerOrder records the order facts a seller's or the platform's create
// states (models.CreateTicket.StatedFacts) on top of the record rec, as the PUT
// would (DESIGN §4, with its 409); shipment times already recorded are kept.
func (a *App) registerOrder(ctx context.Context, rec models.Order, req models.CreateTicket) (models.Order, error) {
	o := models.Order{OrderID: req.OrderID, OrderFacts: req.StatedFacts()}
	if rec.ShippedAt != nil {
		o.ShippedAt = rec.ShippedAt
	}
	if rec.DeliveredAt != nil {
		o.DeliveredAt = rec.DeliveredAt
	}
	if len(o.Items) == 0 {
		o.Items = rec.Items
	}
	o.Normalize()
	if err := o.ValidateAt(a.now()); err != nil {
		return o, models.Errorf(models.EINVALID, "order: %s", models.ErrorMessage(err))
	}
	saved, _, err := a.store.PutOrder(ctx, o)
	return saved, err
}
