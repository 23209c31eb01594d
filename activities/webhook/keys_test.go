package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/activities/webhook"
)

// signed returns the headers a provider holding keys sends for body at at.
func signed(k webhook.Keys, id string, at time.Time, body []byte) http.Header {
	h := http.Header{}
	k.Headers(h, id, at, body)
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	old, current := webhook.NewSecret(), webhook.NewSecret()
	receiver := mustKeys(old + "\n# rotated in on 2026-12-02\n" + current + "\n")
	body := []byte(`{"event_id":"e1","status":"succeeded"}`)
	rawKey, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(current, "whsec_"))
	bodyOnly := hmac.New(sha256.New, rawKey)
	bodyOnly.Write(body)

	captured := signed(mustKeys(current), "e1", now.Add(-10*time.Minute), body)
	replayed := captured.Clone()
	replayed.Set(webhook.HeaderTimestamp, fmt.Sprint(now.Unix()))

	cases := []struct {
		name    string
		headers http.Header
		body    []byte
		ok      bool
		says    string
	}{
		{"signed with the current key", signed(mustKeys(current), "e1", now, body), body, true, ""},
		{"signed with the old key during rotation", signed(mustKeys(old), "e1", now, body), body, true, ""},
		{"several signatures, one verifies", signed(mustKeys(webhook.NewSecret()+"\n"+current), "e1", now, body), body, true, ""},
		{"four minutes late", signed(mustKeys(current), "e1", now.Add(-4*time.Minute), body), body, true, ""},
		{"another provider's key", signed(mustKeys(webhook.NewSecret()), "e1", now, body), body, false, "does not match"},
		{"body changed", signed(mustKeys(current), "e1", now, body), []byte(`{"event_id":"e1","status":"failed"}`), false, "does not match"},
		{"another webhook-id", func() http.Header {
			h := signed(mustKeys(current), "e1", now, body)
			h.Set(webhook.HeaderID, "e2")
			return h
		}(), body, false, "does not match"},
		{"captured signature with a fresh timestamp", replayed, body, false, "does not match"},
		{"too old", captured, body, false, "5 minutes"},
		{"from the future", signed(mustKeys(current), "e1", now.Add(6*time.Minute), body), body, false, "5 minutes"},
		{"signature of the body alone", headers("e1", fmt.Sprint(now.Unix()), "v1,"+base64.StdEncoding.EncodeToString(bodyOnly.Sum(nil))), body, false, "does not match"},
		{"no headers", http.Header{}, body, false, "webhook-id, webhook-timestamp"},
		{"timestamp not a number", headers("e1", "2026-12-02T00:00:00Z", "v1,x"), body, false, "unix seconds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := receiver.Verify(c.headers, c.body, now)
			if c.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.says)) {
				t.Fatalf("Verify = %v, want ok=%v saying %q", err, c.ok, c.says)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	for _, bad := range []string{"", "# only a comment\n", "0123456789abcdef0123456789abcdef", "whsec_not*base64", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := webhook.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted it", bad)
		}
	}
	if _, err := webhook.ParseKeys("\n  " + webhook.NewSecret() + "  \n\n"); err != nil {
		t.Errorf("a key with blank lines around it: %v", err)
	}
}

// headers builds the three headers as a caller might send them.
func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, ts)
	h.Set(webhook.HeaderSignature, sig)
	return h
}

// FuzzVerify: whatever a caller sends, Verify answers (no panic) and accepts only
// a header that carries a key's signature of exactly this id, timestamp and body.
func FuzzVerify(f *testing.F) {
	k := mustKeys(webhook.NewSecret())
	now := time.Unix(1_800_000_000, 0)
	good := signed(k, "e1", now, []byte(`{}`))
	f.Add("e1", fmt.Sprint(now.Unix()), good.Get(webhook.HeaderSignature), []byte(`{}`))
	f.Add("e1", "99999999999999999999", "v1,,, v2,x v1", []byte(`{"a":1}`))
	f.Add("", "-1", "v1", []byte{0xff})
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		if k.Verify(headers(id, ts, sig), body, now) != nil {
			return
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || !strings.Contains(sig, k.Sign(id, time.Unix(secs, 0), body)) {
			t.Fatalf("Verify accepted a signature no key made: id=%q ts=%q sig=%q", id, ts, sig)
		}
	})
}
