package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/models"
)

// OrderSource reads an order record that the store does not have yet: the shop's
// order system (activities/ordersource.HTTP). ENOTFOUND when the shop does not
// know the order either.
type OrderSource interface {
	Order(ctx context.Context, shopID, orderID string) (models.Order, error)
}

// findOrder returns the shop's order record (without its tickets): the store's,
// or else the order source's, which is then kept in the store so that the
// order's cap and its tickets' facts stay the ones read first.
func (s *Server) findOrder(ctx context.Context, shopID, orderID string) (models.Order, error) {
	o, err := s.store.Order(ctx, shopID, orderID)
	if models.ErrorCode(err) != models.ENOTFOUND || s.orders == nil {
		return o, err
	}
	fetched, ferr := s.orders.Order(ctx, shopID, orderID)
	switch {
	case models.ErrorCode(ferr) == models.ENOTFOUND:
		return o, err
	case ferr != nil:
		return o, ferr
	}
	fetched.OrderID = orderID
	fetched.Normalize()
	if err := fetched.ValidateAt(s.now()); err != nil {
		return o, models.Errorf(models.EUNAVAILABLE, "the shop's order system answered an order record that breaks a rule (%s)", models.ErrorMessage(err))
	}
	saved, _, err := s.store.PutOrder(ctx, fetched)
	return saved, err
}

// orderShop is the shop whose order an order route names (DESIGN §2 Trust: an
// order is identified by (shop, order id)): a seller's own shop; the
// platform's and a buyer's from the shop_id query parameter, or else sent,
// the shop_id of the body. A seller naming another shop learns nothing of it:
// its answer is the one for an unknown order.
func orderShop(c echo.Context, p Principal, sent string) (string, error) {
	query := c.QueryParam("shop_id")
	if query != "" && sent != "" && query != sent {
		return "", models.Errorf(models.EINVALID, "shop_id is %s in the query and %s in the body; send one", query, sent)
	}
	if query == "" {
		query = sent
	}
	if p.Role == models.RoleSeller {
		if query != "" && query != p.Subject {
			return "", models.UnknownOrder(query, c.Param("order_id"))
		}
		return p.Subject, nil
	}
	if query == "" {
		return "", models.Errorf(models.EINVALID, "shop_id is required: an order is identified by its shop and its id (add ?shop_id=<shop> to /v1/orders/%s)", c.Param("order_id"))
	}
	return query, models.CheckID("shop_id", query)
}

// putOrder registers or updates an order record (DESIGN §4): the shop's seller for
// its own shop, or the platform. Another shop's order is not found, whatever the
// body says.
func (s *Server) putOrder(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	var facts models.OrderFacts
	got, err := s.decodeSent(c, &facts)
	if err != nil {
		return err
	}
	if err := refuseEmptyCurrency(got, facts.Currency); err != nil {
		return err
	}
	o := models.Order{OrderID: c.Param("order_id"), OrderFacts: facts}
	o.Normalize()
	if err := o.ValidateAt(s.now()); err != nil {
		return err
	}
	if _, err := shopScope(p, o.ShopID); err != nil {
		return err
	}
	ctx := c.Request().Context()
	_, created, err := s.store.PutOrder(ctx, o)
	if err != nil {
		return err
	}
	saved, err := s.store.GetOrder(ctx, o.ShopID, o.OrderID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, saved)
}

// getOrder answers the order record to its parties and the platform: the
// order of the caller's shop (a seller), or of the shop_id asked for.
func (s *Server) getOrder(c echo.Context) error {
	p := principal(c)
	orderID := c.Param("order_id")
	shop, err := orderShop(c, p, "")
	if err != nil {
		return err
	}
	o, err := s.store.GetOrder(c.Request().Context(), shop, orderID)
	if models.ErrorCode(err) == models.ENOTFOUND || err == nil && p.Role == models.RoleBuyer && p.Subject != o.BuyerID {
		return models.UnknownOrder(shop, orderID)
	} else if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// putBuyer sets a buyer's risk record: the platform only.
func (s *Server) putBuyer(c echo.Context) error {
	if _, err := allow(c, models.RolePlatform, models.RoleAdmin); err != nil {
		return err
	}
	var body struct {
		Credit  *int   `json:"credit"`
		Flagged bool   `json:"flagged"`
		Note    string `json:"note"`
	}
	if err := s.decode(c, &body); err != nil {
		return err
	}
	if body.Credit == nil {
		return models.Errorf(models.EINVALID, "credit is required: 0 to 5 stars")
	}
	b := models.Buyer{BuyerID: c.Param("buyer_id"), Credit: *body.Credit, Flagged: body.Flagged, Note: body.Note}
	if err := b.Validate(); err != nil {
		return err
	}
	saved, err := s.store.PutBuyer(c.Request().Context(), b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}
