package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks headers (standardwebhooks.com), as DESIGN §4 names them.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// MaxAge is how far webhook-timestamp may be from the receiver's clock, either way.
const MaxAge = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret: "whsec_" and the base64 key.
const secretPrefix = "whsec_"

// minKeyBytes keeps guessable keys out of a secret file.
const minKeyBytes = 16

// Keys is one provider's webhook secret: one or more whsec_ keys. Any of them
// verifies a webhook, and Sign signs with each, so a provider's key can be rotated
// by adding the new line, moving senders over, then removing the old line.
type Keys struct {
	hooks []*standardwebhooks.Webhook
}

// ParseKeys reads a secret file's text: one whsec_<base64 key> per line; blank
// lines and lines starting with # are ignored. A file with no key, or a line that
// is not a whsec_ key of at least 16 bytes, is an error naming the line.
func ParseKeys(text string) (Keys, error) {
	var k Keys
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, secretPrefix))
		if !strings.HasPrefix(line, secretPrefix) || err != nil || len(raw) < minKeyBytes {
			return Keys{}, fmt.Errorf("line %d is not a webhook secret: want whsec_ and the base64 of at least %d random bytes", i+1, minKeyBytes)
		}
		hook, err := standardwebhooks.NewWebhookRaw(raw)
		if err != nil {
			return Keys{}, fmt.Errorf("line %d: %w", i+1, err)
		}
		k.hooks = append(k.hooks, hook)
	}
	if len(k.hooks) == 0 {
		return Keys{}, errors.New("no whsec_ key in it")
	}
	return k, nil
}

// LoadKeys reads a secret file. With create, a missing file is written with one
// new random key (mode 0600) first.
func LoadKeys(path string, create bool) (Keys, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		raw = []byte(NewSecret() + "\n")
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			err = os.WriteFile(path, raw, 0o600)
		}
	}
	if err != nil {
		return Keys{}, fmt.Errorf("webhook secret: %w", err)
	}
	k, err := ParseKeys(string(raw))
	if err != nil {
		return Keys{}, fmt.Errorf("webhook secret %s: %w", path, err)
	}
	return k, nil
}

// NewSecret returns a new random secret line: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Empty says whether k holds no key.
func (k Keys) Empty() bool { return len(k.hooks) == 0 }

// Sign returns the webhook-signature header for a message: "v1,<base64 HMAC-SHA256
// of id.unix-seconds.body>" under each key, space-separated.
func (k Keys) Sign(id string, at time.Time, body []byte) string {
	sigs := make([]string, 0, len(k.hooks))
	for _, h := range k.hooks {
		sig, _ := h.Sign(id, at, body) // HMAC signing cannot fail
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " ")
}

// Headers sets the three Standard Webhooks headers of a message sent at at.
func (k Keys) Headers(h http.Header, id string, at time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, k.Sign(id, at, body))
}

// Verify checks a received webhook: the three headers are present, the timestamp
// is within MaxAge of now, and one of the signatures is some key's signature of
// "<webhook-id>.<webhook-timestamp>.<body>". A signature of the body alone, or one
// captured and sent again with a new timestamp, does not verify. The error says
// what to fix, in words a provider's engineer can act on.
func (k Keys) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sig := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sig == "" {
		return errors.New("webhooks need the headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature (v1,<base64 HMAC-SHA256 of \"<webhook-id>.<webhook-timestamp>.<body>\">)")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp must be unix seconds")
	}
	if age := now.Sub(time.Unix(secs, 0)); age > MaxAge || age < -MaxAge {
		return errors.New("webhook-timestamp is more than 5 minutes away from now; sign the webhook again with the current time")
	}
	for _, hook := range k.hooks {
		if hook.VerifyIgnoringTimestamp(body, h) == nil {
			return nil
		}
	}
	return errors.New("webhook-signature does not match: sign \"<webhook-id>.<webhook-timestamp>.<raw body>\" with HMAC-SHA256 under this provider's whsec_ key, and send v1,<base64>")
}
