package app

import (
	"context"

	"github.com/aftersales/aftersales/models"
)

// OrderRef names an order the way a request does: its id, and the shop the
// request named (empty when it named none).
type OrderRef struct {
	OrderID string
	ShopID  string
}

// ShopScope is the shop a request may see: a seller's own (naming another is
// EFORBIDDEN), or the one requested for the platform ("" for all shops).
func ShopScope(p models.Principal, requested string) (string, error) {
	if p.Role != models.RoleSeller {
		return requested, nil
	}
	if requested != "" && requested != p.Subject {
		return "", models.Errorf(models.EFORBIDDEN, "a seller key sees only its own shop %s", p.Subject)
	}
	return p.Subject, nil
}

// OrderShop is the shop whose order ref names (DESIGN §2 Trust: an order is
// identified by (shop, order id)): a seller's own shop; the platform's and a
// buyer's the one they named, which they must. A seller naming another shop
// learns nothing of it: the answer is the one for an unknown order.
func OrderShop(p models.Principal, ref OrderRef) (string, error) {
	if err := models.CheckID("order_id", ref.OrderID); err != nil {
		return "", err
	}
	if p.Role == models.RoleSeller {
		if ref.ShopID != "" && ref.ShopID != p.Subject {
			return "", models.UnknownOrder(ref.ShopID, ref.OrderID)
		}
		return p.Subject, nil
	}
	if ref.ShopID == "" {
		return "", models.Errorf(models.EINVALID, "shop_id is required: an order is identified by its shop and its id (add ?shop_id=<shop> to /v1/orders/%s)", ref.OrderID)
	}
	return ref.ShopID, models.CheckID("shop_id", ref.ShopID)
}

// findOrder returns the shop's order record (without its tickets): the store's,
// or else the order source's, which is then kept in the store so that the
// order's cap and its tickets' facts stay the ones read first.
func (a *App) findOrder(ctx context.Context, shopID, orderID string) (models.Order, error) {
	o, err := a.store.Order(ctx, shopID, orderID)
	if models.ErrorCode(err) != models.ENOTFOUND || a.orders == nil {
		return o, err
	}
	fetched, ferr := a.orders.Order(ctx, shopID, orderID)
	switch {
	case models.ErrorCode(ferr) == models.ENOTFOUND, ferr == nil && fetched.ShopID != shopID:
		return o, err // another shop's record is not this shop's order: the same words as none
	case ferr != nil:
		return o, ferr
	}
	fetched.OrderID = orderID
	fetched.Normalize()
	if err := fetched.ValidateAt(a.now()); err != nil {
		return o, models.Errorf(models.EUNAVAILABLE, "the shop's order system answered an order record that breaks a rule (%s)", models.ErrorMessage(err))
	}
	saved, _, err := a.store.PutOrder(ctx, fetched)
	return saved, err
}

// PutOrder registers or updates an order record (DESIGN §4): the shop's
// seller for its own shop (a record of another shop is EFORBIDDEN), or the
// platform. It answers the record with its tickets and whether it was new.
func (a *App) PutOrder(ctx context.Context, p models.Principal, o models.Order, sent Sent) (models.Order, bool, error) {
	if err := RefuseEmptyCurrency(sent, o.Currency); err != nil {
		return o, false, err
	}
	o.Normalize()
	if err := o.ValidateAt(a.now()); err != nil {
		return o, false, err
	}
	if _, err := ShopScope(p, o.ShopID); err != nil {
		return o, false, err
	}
	_, created, err := a.store.PutOrder(ctx, o)
	if err != nil {
		return o, false, err
	}
	saved, err := a.store.GetOrder(ctx, o.ShopID, o.OrderID)
	return saved, created, err
}

// Order answers an order record with its tickets to its parties and the
// platform (OrderShop); anyone else gets the answer for an unknown order.
func (a *App) Order(ctx context.Context, p models.Principal, ref OrderRef) (models.Order, error) {
	shop, err := OrderShop(p, ref)
	if err != nil {
		return models.Order{}, err
	}
	o, err := a.store.GetOrder(ctx, shop, ref.OrderID)
	if models.ErrorCode(err) == models.ENOTFOUND || err == nil && p.Role == models.RoleBuyer && p.Subject != o.BuyerID {
		return models.Order{}, models.UnknownOrder(shop, ref.OrderID)
	} else if err != nil || len(o.Items) == 0 {
		return o, err
	}
	return o, a.orderLines(ctx, &o)
}

// orderLines adds the order's figures per line: its tickets' (read model) and
// the refunds ledger's.
func (a *App) orderLines(ctx context.Context, o *models.Order) error {
	refunded, err := a.store.OrderLineRefunds(ctx, o.ShopID, o.OrderID)
	if err != nil {
		return err
	}
	tickets := make([]models.Ticket, 0, len(o.TicketIDs))
	for _, id := range o.TicketIDs {
		t, err := a.store.GetTicketHead(ctx, id)
		if err != nil {
			return err
		}
		tickets = append(tickets, t)
	}
	o.Lines = models.OrderLines(o.Items, tickets, refunded)
	return nil
}
