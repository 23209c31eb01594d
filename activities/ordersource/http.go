// Package ordersource reads order records from a shop's order system, for the API
// to trust instead of what a buyer says (DESIGN §2 Trust). The store-backed default
// needs no adapter: orders registered with PUT /v1/orders/{order_id} are read from
// the read model. HTTP reads the ones it does not have from the shop's system.
//
// # Order system protocol (HTTP)
//
// Every request carries `Authorization: Bearer <APIKey>`.
//
//	GET {base}/orders/{order_id}?shop_id={shop_id} → 200 models.OrderFacts as JSON:
//	    {"shop_id","buyer_id","paid_cents","currency","paid_at","shipped_at",
//	     "delivered_at","freight_insurance","self_operated","items":[{"sku","qty","unit_paid_cents"}]}
//	                             → 404 when the shop has no such order
//
// An order is (shop, order id): a record whose shop_id is not the one asked for
// is taken as not found.
//
// 5xx, 408, 429, network errors and per-attempt timeouts are retried with backoff
// (providerapi.Client); a final failure is a 503 to our caller, never a guess. The
// record read is kept in our database, so the order's refund cap and its tickets'
// facts stay the ones read first.
package ordersource

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/aftersales/aftersales/activities/providerapi"
	"github.com/aftersales/aftersales/models"
)

// HTTP is the order-source adapter for a shop's order system.
type HTTP struct {
	BaseURL string // e.g. https://oms.example.com/v1
	APIKey  string
	Client  *http.Client // http.DefaultClient when nil
}

// Order fetches one shop's order record; ENOTFOUND when the order system
// answers 404.
func (h *HTTP) Order(ctx context.Context, shopID, orderID string) (models.Order, error) {
	c := providerapi.Client{Name: "order system", BaseURL: h.BaseURL, APIKey: h.APIKey, HTTPClient: h.Client}
	var facts models.OrderFacts
	err := c.Do(ctx, http.MethodGet, "/orders/"+url.PathEscape(orderID)+"?shop_id="+url.QueryEscape(shopID), "", nil, &facts)
	var pe *providerapi.Error
	switch {
	case errors.As(err, &pe) && pe.Status == http.StatusNotFound:
		return models.Order{}, models.Errorf(models.ENOTFOUND, "order %s is not known to the shop's order system", orderID)
	case err != nil:
		return models.Order{}, models.Errorf(models.EUNAVAILABLE, "the shop's order system did not answer for order %s; try again shortly", orderID)
	}
	if facts.ShopID != shopID {
		// Another shop's order of that id is not this shop's: not found, in the same words.
		return models.Order{}, models.Errorf(models.ENOTFOUND, "order %s is not known to the shop's order system", orderID)
	}
	return models.Order{OrderID: orderID, OrderFacts: facts}, nil
}
