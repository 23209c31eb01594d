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
	Order(ctx context.Context, orderID string) (models.Order, error)
}

// findOrder returns the order record (without its tickets): the store's, or else the order source's,
// which is then kept in the store so that the order's cap and its tickets' facts
// stay the ones read first.
func (s *Server) findOrder(ctx context.Context, orderID string) (models.Order, error) {
	o, err := s.store.Order(ctx, orderID)
	if models.ErrorCode(err) != models.ENOTFOUND || s.orders == nil {
		return o, err
	}
	fetched, ferr := s.orders.Order(ctx, orderID)
	if ferr != nil {
		if models.ErrorCode(ferr) == models.ENOTFOUND {
			return o, err
		}
		return o, ferr
	}
	fetched.OrderID = orderID
	fetched.Normalize()
	if err := fetched.ValidateAt(s.now()); err != nil {
		return o, models.Errorf(models.EUNAVAILABLE, "the shop's order system answered an order record that breaks a rule (%s)", models.ErrorMessage(err))
	}
	saved, _, err := s.store.PutOrder(ctx, fetched, "")
	return saved, err
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
	// Another shop's record is not found: checked by the store under the row's lock.
	ctx := c.Request().Context()
	_, created, err := s.store.PutOrder(ctx, o, sellerShop(p))
	if err != nil {
		return err
	}
	saved, err := s.store.GetOrder(ctx, o.OrderID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, saved)
}

// getOrder answers the order record to its parties and the platform.
func (s *Server) getOrder(c echo.Context) error {
	p := principal(c)
	o, err := s.store.GetOrder(c.Request().Context(), c.Param("order_id"))
	if err != nil {
		return err
	}
	switch {
	case p.Role == models.RolePlatform || p.Role == models.RoleAdmin,
		p.Role == models.RoleSeller && p.Subject == o.ShopID,
		p.Role == models.RoleBuyer && p.Subject == o.BuyerID:
		return c.JSON(http.StatusOK, o)
	}
	return models.Errorf(models.ENOTFOUND, "order %s not found", o.OrderID)
}

// sellerShop is the only shop whose order records a principal may update: a
// seller's own; "" (any) for the platform.
func sellerShop(p Principal) string {
	if p.Role == models.RoleSeller {
		return p.Subject
	}
	return ""
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
