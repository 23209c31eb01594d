package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// orderRef is the order an order route names: its path's id and the shop its
// query (shop_id) or, sent, its body's shop_id names (app.OrderShop decides
// whose it is).
func orderRef(c echo.Context, sent string) (app.OrderRef, error) {
	ref := app.OrderRef{OrderID: c.Param("order_id"), ShopID: c.QueryParam("shop_id")}
	if ref.ShopID != "" && sent != "" && ref.ShopID != sent {
		return ref, models.Errorf(models.EINVALID, "shop_id is %s in the query and %s in the body; send one", ref.ShopID, sent)
	}
	if ref.ShopID == "" {
		ref.ShopID = sent
	}
	return ref, nil
}

// startShippingWatch starts the delayed-shipment watch of an order
// (app.StartShippingWatch).
func (s *Server) startShippingWatch(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	var body app.ShippingWatchRequest
	got, err := s.decodeSent(c, &body)
	if err != nil {
		return err
	}
	ref, err := orderRef(c, body.ShopID)
	if err != nil {
		return err
	}
	w, err := s.app.StartShippingWatch(c.Request().Context(), p, ref, body, got)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

func (s *Server) getShippingWatch(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	ref, err := orderRef(c, "")
	if err != nil {
		return err
	}
	w, err := s.app.ShippingWatch(c.Request().Context(), p, ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// orderShipped tells the order's watch it shipped (app.OrderShipped).
func (s *Server) orderShipped(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	ref, err := orderRef(c, "")
	if err != nil {
		return err
	}
	w, err := s.app.OrderShipped(c.Request().Context(), p, ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}
