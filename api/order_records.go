package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// OrderSource reads an order record that the store does not have yet: the
// shop's order system (app.OrderSource).
type OrderSource = app.OrderSource

// putOrder registers or updates an order record (app.PutOrder).
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
	saved, created, err := s.app.PutOrder(c.Request().Context(), p, models.Order{OrderID: c.Param("order_id"), OrderFacts: facts}, got)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, saved)
}

// getOrder answers the order record to its parties and the platform (app.Order).
func (s *Server) getOrder(c echo.Context) error {
	ref, err := orderRef(c, "")
	if err != nil {
		return err
	}
	o, err := s.app.Order(c.Request().Context(), principal(c), ref)
	if err != nil {
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
