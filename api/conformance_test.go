package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The OpenAPI document cannot lie: every answer the HTTP tests get through call
// is validated against it (kin-openapi's openapi3filter): its status must be
// documented for the operation, and its body must fit the documented schema.
var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func specRoutes() (routers.Router, error) {
	specOnce.Do(func() {
		raw, err := os.ReadFile("openapi.json")
		if err != nil {
			specErr = err
			return
		}
		doc, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			specErr = err
			return
		}
		doc.Servers = nil // match any host: the tests' servers listen on random ports
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

// conforms checks one exchange against the document.
func conforms(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	router, err := specRoutes()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	u, _ := url.Parse(req.URL.String())
	probe := &http.Request{Method: req.Method, URL: u, Header: req.Header}
	route, params, err := router.FindRoute(probe)
	if err != nil {
		t.Errorf("%s %s is not in openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which openapi.json does not describe: %v", req.Method, req.URL.Path, status, err)
	}
}
