package api_test

import (
	"net/http"
	"testing"
)

// FuzzRequestBodies: whatever body a client sends to the create, an action or a
// record endpoint, the answer is never a 5xx (and the server does not panic: a
// panic would be a 500 from the recovery middleware). Seeds in testdata/fuzz run
// in every `go test`; `go test ./api -fuzz FuzzRequestBodies` explores further.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"order_id":`, `[]`, `null`, `"text"`, `{"order_id":"o-1","shop_id":"shop-it","buyer_id":"buyer-it","kind":"refund_only","requested_cents":100}`,
		`{"requested_cents":1e309}`, `{"requested_cents":-9223372036854775808}`, `{"order":{"paid_cents":9223372036854775807}}`,
		`{"reason":"` + "\u202e\u0000" + `"}`, `{"items":[{"sku":"=cmd","qty":2147483648}]}`, `{"extend":"213504d","reason":"x"}`,
		`{"urls":["javascript:alert(1)"],"note":"x"}`, `{"credit":99}`, `{"paid_at":"yesterday"}`,
	} {
		f.Add(seed)
	}
	tk := ""
	f.Fuzz(func(t *testing.T, body string) {
		if tk == "" {
			tk = newTicket(t, nil).ID
		}
		for _, r := range []struct{ method, path, key string }{
			{http.MethodPost, "/v1/tickets", "buyer"},
			{http.MethodPost, "/v1/tickets/" + tk + "/report_delay", "seller"},
			{http.MethodPost, "/v1/tickets/" + tk + "/evidence", "buyer"},
			{http.MethodPut, "/v1/orders/o-fuzz", "seller"},
			{http.MethodPut, "/v1/buyers/buyer-fuzz", "platform"},
		} {
			if code := call(t, r.method, r.path, r.key, []byte(body), nil); code >= 500 {
				t.Fatalf("%s %s with %q answered %d", r.method, r.path, body, code)
			}
		}
	})
}
