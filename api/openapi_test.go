package api_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentIsValid: the served document is a valid OpenAPI 3 document
// (kin-openapi's validator: references resolve, schemas are well-formed), and
// every operation has an operationId and every route of the server is in it.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	res, err := http.Get(h.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
		}
	}
	for _, route := range []struct{ method, path string }{
		{http.MethodPut, "/v1/orders/{order_id}"}, {http.MethodGet, "/v1/orders/{order_id}"},
		{http.MethodPut, "/v1/buyers/{buyer_id}"}, {http.MethodPost, "/v1/tickets"},
		{http.MethodPost, "/v1/webhooks/payment"}, {http.MethodGet, "/v1/tickets/export.csv"},
	} {
		if item := doc.Paths.Find(route.path); item == nil || item.GetOperation(route.method) == nil {
			t.Errorf("%s %s is served but not documented", route.method, route.path)
		}
	}
}
