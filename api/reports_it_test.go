package api_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// The reports run in a shop of their own: the warnings list is capped at 50, so in a
// shared shop enough earlier tickets (-count, -shuffle) would push this one out.
func TestReportsAndExport(t *testing.T) {
	shop, seller := newShop(t)
	tk := newTicket(t, func(c *models.CreateTicket) { c.ShopID = shop })
	var sla models.SLAReport
	if code := seller.call(t, http.MethodGet, "/v1/reports/sla", "seller", nil, &sla); code != http.StatusOK {
		t.Fatalf("sla: %d", code)
	}
	if sla.ShopID != shop || sla.Total < 1 {
		t.Errorf("seller's SLA report: shop %q total %d", sla.ShopID, sla.Total)
	}
	var e apiError
	if code := seller.call(t, http.MethodGet, "/v1/reports/sla?from=yesterday", "seller", nil, &e); code != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "from") {
		t.Errorf("bad from: %d %q", code, e.Error.Message)
	}
	if code := seller.call(t, http.MethodGet, "/v1/reports/sla", "buyer", nil, nil); code != http.StatusForbidden {
		t.Errorf("buyer reading the SLA report: %d", code)
	}

	var w models.Warnings
	if code := seller.call(t, http.MethodGet, "/v1/reports/warnings?within=72h", "seller", nil, &w); code != http.StatusOK {
		t.Fatalf("warnings: %d", code)
	}
	found := false
	for _, d := range w.DueSoon {
		found = found || d.ID == tk.ID
	}
	if !found {
		t.Errorf("ticket %s due within 72h not in warnings %+v", tk.ID, w.DueSoon)
	}

	req, _ := http.NewRequest(http.MethodGet, seller.url+"/v1/tickets/export.csv?state=pending_review", nil)
	req.Header.Set("Authorization", "Bearer "+seller.keys["seller"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %v %s", err, res.Header.Get("Content-Type"))
	}
	if rows[0][0] != "id" || !csvHas(rows, tk.ID) {
		t.Errorf("export misses %s: %d rows", tk.ID, len(rows))
	}
	for _, r := range rows[1:] {
		if r[2] != shop {
			t.Errorf("seller export holds shop %s", r[2])
		}
	}
}

func csvHas(rows [][]string, id string) bool {
	for _, r := range rows {
		if r[0] == id {
			return true
		}
	}
	return false
}

func TestHealthMetricsOpenAPI(t *testing.T) {
	// Something to count: a fast-reviewed refund handed to the provider, and a
	// courier event.
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.Kind, c.ReturnMethod, c.ReasonCode, c.PickupAddress = models.KindRefundOnly, models.ReturnNone, models.ReasonNotReceived, ""
		c.RequestedCents, c.BuyerCredit = 100, 5
	})
	courierEvent(t, tk.ID, models.CourierDelivered)
	waitSent(t, tk.ID, models.RefundKey(tk.ID, 1)) // its ledger row is written
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := call(t, http.MethodGet, path, "", nil, nil); code != http.StatusOK {
			t.Errorf("%s: %d", path, code)
		}
	}
	call(t, http.MethodGet, "/v1/tickets", "", nil, nil) // a 401 to count
	res, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `aftersales_http_requests_total{method="GET",route="/v1/tickets",status="401"}`) {
		t.Errorf("metrics do not count the 401:\n%s", body)
	}
	for _, want := range []string{`aftersales_tickets{kind="`, `aftersales_money_movements{purpose="refund",status="`,
		"aftersales_seller_breaches ", "aftersales_escalated_tickets ", `aftersales_webhook_events_total{outcome="`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := call(t, http.MethodGet, "/openapi.json", "", nil, &doc); code != http.StatusOK || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %d %q", code, doc.OpenAPI)
	}
	for _, p := range []string{"/v1/tickets", "/v1/tickets/{id}/{action}", "/v1/webhooks/courier", "/v1/reports/sla"} {
		if doc.Paths[p] == nil {
			t.Errorf("openapi misses %s", p)
		}
	}
}
