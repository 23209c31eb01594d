package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/aftersales/aftersales/models"
)

// DESIGN §4, optimistic concurrency: every ticket answer carries its seq and an
// ETag of it; an action sent with If-Match of an ETag the ticket has moved on
// from is refused with 412 and changes nothing.
func TestIfMatchRefusesAStaleScreen(t *testing.T) {
	tk := newTicket(t, nil)
	read := func() (models.Ticket, string) {
		t.Helper()
		code, raw, hdr := rawCall(t, http.MethodGet, "/v1/tickets/"+tk.ID, "seller", nil)
		var got models.Ticket
		if err := json.Unmarshal(raw, &got); code != http.StatusOK || err != nil {
			t.Fatalf("GET: %d %s", code, raw)
		}
		if want := strconv.Quote(strconv.FormatInt(got.Seq, 10)); hdr.Get("ETag") != want {
			t.Fatalf("ETag %q for a ticket at seq %d, want %s", hdr.Get("ETag"), got.Seq, want)
		}
		return got, hdr.Get("ETag")
	}
	before, screen := read()

	// Agent A replies from the screen; the answer carries the new ETag.
	code, raw, hdr := rawCall(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/reply", "seller",
		map[string]string{"message": "we are checking the parcel"}, "If-Match", screen)
	var replied models.Ticket
	_ = json.Unmarshal(raw, &replied)
	if code != http.StatusOK || replied.Seq <= before.Seq || hdr.Get("ETag") != strconv.Quote(strconv.FormatInt(replied.Seq, 10)) {
		t.Fatalf("reply with the current ETag: %d, seq %d → %d, ETag %q: %s", code, before.Seq, replied.Seq, hdr.Get("ETag"), raw)
	}

	// Agent B approves from the same, now stale, screen: 412, nothing changes.
	code, raw, _ = rawCall(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/approve", "seller", map[string]string{}, "If-Match", screen)
	var e apiError
	_ = json.Unmarshal(raw, &e)
	if code != http.StatusPreconditionFailed || e.Error.Code != models.EPRECONDITION || e.Error.Message == "" {
		t.Fatalf("approve from a stale screen: %d %s, want 412", code, raw)
	}
	after, fresh := read()
	if after.Seq != replied.Seq || after.State != models.StatePendingReview || len(after.Timeline) != len(replied.Timeline) {
		t.Fatalf("the refused action changed the ticket: seq %d → %d, state %s", replied.Seq, after.Seq, after.State)
	}

	// An If-Match that is not a ticket's ETag is refused, never skipped.
	for _, bad := range []string{`W/"` + strconv.FormatInt(after.Seq, 10) + `"`, `"abc"`, `"1", "2"`, `"-3"`} {
		if code, raw, _ := rawCall(t, http.MethodPost, "/v1/tickets/"+tk.ID+"/approve", "seller", map[string]string{}, "If-Match", bad); code != http.StatusBadRequest {
			t.Fatalf("If-Match %s: %d %s, want 400", bad, code, raw)
		}
	}
	if again, _ := read(); again.Seq != after.Seq {
		t.Fatalf("a refused If-Match changed the ticket: seq %d → %d", after.Seq, again.Seq)
	}

	// Two agents act on one screen at once: exactly one decides.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, action := range []string{"approve", "reject"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = postIfMatch(t, tk.ID, action, fresh)
		}()
	}
	wg.Wait()
	if !(codes[0] == http.StatusOK && codes[1] == http.StatusPreconditionFailed || codes[1] == http.StatusOK && codes[0] == http.StatusPreconditionFailed) {
		t.Fatalf("approve and reject from one screen at once answered %v; want one 200 and one 412", codes)
	}
}

// postIfMatch sends action as the seller with If-Match and returns the status;
// safe from any goroutine.
func postIfMatch(t *testing.T, id, action, etag string) int {
	body, _ := json.Marshal(map[string]string{"reason": "the photos show no defect"})
	req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/tickets/"+id+"/"+action, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.keys["seller"])
	req.Header.Set("If-Match", etag)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s: %v", action, err)
		return 0
	}
	defer res.Body.Close()
	return res.StatusCode
}
