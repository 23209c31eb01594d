package ordersource_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aftersales/aftersales/activities/ordersource"
	"github.com/aftersales/aftersales/models"
)

func TestHTTPOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer oms-key" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/orders/o-1":
			if r.URL.Query().Get("shop_id") != "shop-1" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, `{"shop_id":"shop-1","buyer_id":"buyer-1","paid_cents":5000,"currency":"CNY","paid_at":"2026-11-30T08:00:00Z","freight_insurance":true,"items":[]}`)
		case "/orders/o-3": // a system that answers whatever shop is asked
			fmt.Fprint(w, `{"shop_id":"shop-2","buyer_id":"buyer-1","paid_cents":5000,"currency":"CNY","paid_at":"2026-11-30T08:00:00Z","items":[]}`)
		case "/orders/down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src := &ordersource.HTTP{BaseURL: srv.URL, APIKey: "oms-key"}
	o, err := src.Order(context.Background(), "shop-1", "o-1")
	if err != nil || o.OrderID != "o-1" || o.ShopID != "shop-1" || o.PaidCents != 5000 || !o.FreightInsurance {
		t.Fatalf("Order(o-1) = %+v, %v", o, err)
	}
	if _, err := src.Order(context.Background(), "shop-1", "o-2"); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("an order the shop does not know: %v, want ENOTFOUND", err)
	}
	if _, err := src.Order(context.Background(), "shop-2", "o-1"); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("another shop's order of that id: %v, want ENOTFOUND", err)
	}
	if _, err := src.Order(context.Background(), "shop-1", "o-3"); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("a record of another shop answered: %v, want ENOTFOUND", err)
	}
	if _, err := src.Order(context.Background(), "shop-1", "down"); models.ErrorCode(err) != models.EUNAVAILABLE {
		t.Errorf("the order system down: %v, want EUNAVAILABLE", err)
	}
	bad := &ordersource.HTTP{BaseURL: srv.URL, APIKey: "wrong"}
	if _, err := bad.Order(context.Background(), "shop-1", "o-1"); models.ErrorCode(err) != models.EUNAVAILABLE {
		t.Errorf("refused by the order system: %v, want EUNAVAILABLE (our configuration, not the caller's)", err)
	}
}
