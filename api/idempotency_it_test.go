package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// rawCall is call that keeps the answer's bytes and headers.
func rawCall(t *testing.T, method, path, key string, body any, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, h.url+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.keys[key])
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	conforms(t, req, res.StatusCode, res.Header, buf.Bytes())
	return res.StatusCode, buf.Bytes(), res.Header
}

// DESIGN §4: the same key and body replay the first answer byte for byte; the key
// is the principal's, so another buyer's same key is its own request.
func TestIdempotencyReplaysTheFirstAnswer(t *testing.T) {
	body := createBody("buyer-it")
	body.OrderID = fmt.Sprintf("o-replay-%d", time.Now().UnixNano())
	key := "replay-" + body.OrderID
	body = asBuyer(t, body)
	code, first, firstHdr := rawCall(t, http.MethodPost, "/v1/tickets", "buyer", body, "Idempotency-Key", key)
	if code != http.StatusCreated || firstHdr.Get("ETag") == "" {
		t.Fatalf("create: %d ETag %q %s", code, firstHdr.Get("ETag"), first)
	}
	var tk models.Ticket
	_ = json.Unmarshal(first, &tk)
	// The ticket moves on; the replay still answers what the first request got.
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "on it"}, nil); c != http.StatusOK {
		t.Fatalf("reply: %d", c)
	}
	code, again, hdr := rawCall(t, http.MethodPost, "/v1/tickets", "buyer", body, "Idempotency-Key", key)
	if code != http.StatusOK || !bytes.Equal(again, first) || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d replayed=%q same body=%v", code, hdr.Get("Idempotent-Replayed"), bytes.Equal(again, first))
	}
	if hdr.Get("ETag") != firstHdr.Get("ETag") {
		t.Fatalf("the replayed ticket answer carries ETag %q, the first %q", hdr.Get("ETag"), firstHdr.Get("ETag"))
	}

	other := createBody("buyer-other")
	other.OrderID = body.OrderID + "-b"
	other = asBuyer(t, other)
	if code, raw, _ := rawCall(t, http.MethodPost, "/v1/tickets", "other-buyer", other, "Idempotency-Key", key); code != http.StatusCreated {
		t.Fatalf("another buyer's request under the same key: %d %s, want its own 201", code, raw)
	}

	// An action: replayed with its first status and body, once in the timeline.
	reply := map[string]any{"message": "checked the parcel"}
	code, r1, _ := rawCall(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", reply, "Idempotency-Key", "act-"+key)
	code2, r2, _ := rawCall(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", reply, "Idempotency-Key", "act-"+key)
	if code != http.StatusOK || code2 != http.StatusOK || !bytes.Equal(r1, r2) {
		t.Fatalf("action replay: %d then %d, same body %v", code, code2, bytes.Equal(r1, r2))
	}
	// Same key, another body or another action: 409, nothing applied.
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "other"}, nil, "Idempotency-Key", "act-"+key); c != http.StatusConflict {
		t.Errorf("same key, other body: %d, want 409", c)
	}
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reject", "seller", map[string]any{"reason": "no"}, nil, "Idempotency-Key", "act-"+key); c != http.StatusConflict {
		t.Errorf("same key, other action: %d, want 409", c)
	}
	got := getTicket(t, tk.ID)
	if n := countActions(got, "reply"); n != 2 || got.State != models.StatePendingReview {
		t.Errorf("timeline has %d replies and state %s; want 2 replies, still pending_review", n, got.State)
	}
}

// A request refused for its body leaves the key free: the corrected retry runs.
func TestIdempotencyKeyFreeAfterABadBody(t *testing.T) {
	tk := newTicket(t, nil)
	key := fmt.Sprintf("fix-%d", time.Now().UnixNano())
	var e apiError
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reject", "seller", []byte(`{"reason":`), &e, "Idempotency-Key", key); c != http.StatusBadRequest || e.Error.Code != models.EMALFORMED {
		t.Fatalf("malformed JSON: %d %+v, want 400 malformed", c, e)
	}
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reject", "seller", map[string]any{}, nil, "Idempotency-Key", key); c != http.StatusUnprocessableEntity {
		t.Fatalf("reject without a reason: %d, want 422", c)
	}
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reject", "seller", map[string]any{"reason": "outside the return window"}, nil, "Idempotency-Key", key); c != http.StatusOK {
		t.Fatalf("corrected retry under the same key: %d, want 200", c)
	}
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "x"}, nil, "Idempotency-Key", strings.Repeat("k", 256)); c != http.StatusUnprocessableEntity {
		t.Errorf("a 256-character key: %d, want 422", c)
	}
}

// The X-Request-ID a client sends never decides what is applied: two different
// actions with one X-Request-ID are both applied.
func TestRequestIDIsNotAnIdempotencyKey(t *testing.T) {
	tk := newTicket(t, nil)
	rid := fmt.Sprintf("rid-%d", time.Now().UnixNano())
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "hello"}, nil, "X-Request-ID", rid); c != http.StatusOK {
		t.Fatalf("reply: %d", c)
	}
	var after models.Ticket
	if c := call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reject", "seller", map[string]any{"reason": "used"}, &after, "X-Request-ID", rid); c != http.StatusOK || after.State != models.StateRejected {
		t.Fatalf("reject with the same X-Request-ID: %d state %s, want 200 rejected", c, after.State)
	}
}

// Concurrent requests with one key apply once.
func TestIdempotencyConcurrentRepeatsApplyOnce(t *testing.T) {
	tk := newTicket(t, nil)
	key := fmt.Sprintf("conc-%d", time.Now().UnixNano())
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = call(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller", map[string]any{"message": "once"}, nil, "Idempotency-Key", key)
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK && c != http.StatusConflict {
			t.Errorf("request %d: %d, want 200 or 409 (still running)", i, c)
		}
	}
	if n := countActions(getTicket(t, tk.ID), "reply"); n != 1 {
		t.Errorf("%d replies for one key sent 8 times at once", n)
	}
}

func countActions(tk models.Ticket, action string) int {
	n := 0
	for _, e := range tk.Timeline {
		if e.Action == action {
			n++
		}
	}
	return n
}
