package models

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
)

// The limits of DESIGN §4. They hold at the edge (the API refuses a body that
// breaks one) and inside the workflow (the update validator calls CheckAction),
// so no client can grow a ticket past what its history can carry.
const (
	MaxTextChars        = 2000              // reason, note, message, comment, carrier, tracking_no
	MaxURLs             = 10                // urls of one evidence entry
	MaxURLChars         = 2048              // each url
	MaxAmountCents      = 1_000_000_000_000 // 10^12 cents
	MaxRepliesPerTicket = 200
	MaxEvidencePerParty = 50                   // each party's own room: one never uses up the other's
	MaxIDChars          = 64                   // order_id, shop_id, buyer_id, sku, external_id, event_id
	MaxItems            = 100                  // items of one create or order record
	MaxDuration         = 366 * 24 * time.Hour // extend, within
	// MaxMoneyKeyChars bounds a money movement's key, the ledger's and the
	// provider's idempotency key: a compensation's names its order (OrderName).
	MaxMoneyKeyChars = 255
	// MaxLedgerTicketChars bounds whose a ledger entry is: a ticket id, or a
	// shipping watch's workflow id, which names its order (OrderName).
	MaxLedgerTicketChars = 160
)

// EarliestOrderTime is the earliest time an order fact (paid_at, shipped_at,
// delivered_at) may carry: no order of ours was paid before it, and a time
// before it (year 0, a Unix epoch of 0) is a client's mistake.
var EarliestOrderTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ClockSkew is how far ahead of our clock an order fact's time may be: the
// shop's clock and ours differ a little, never by more (the webhook timestamp
// tolerance is the same five minutes).
const ClockSkew = 5 * time.Minute

// CheckFactTime refuses the time of an order fact that cannot be: before
// EarliestOrderTime, or later than now by more than ClockSkew.
func CheckFactTime(field string, at, now time.Time) error {
	switch {
	case at.Before(EarliestOrderTime):
		return Errorf(EINVALID, "%s %s is before %s; send the real time (RFC 3339)", field, at.UTC().Format(time.RFC3339), EarliestOrderTime.Format(time.RFC3339))
	case at.After(now.Add(ClockSkew)):
		return Errorf(EINVALID, "%s %s is in the future (our clock says %s); send a time that has passed", field, at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckLedgerTicket refuses what cannot be a ledger entry's ticket_id: a ticket
// id, or a shipping watch's workflow id (the id characters, and the @ of an
// OrderName), at most MaxLedgerTicketChars.
func CheckLedgerTicket(field, v string) error {
	if v == "" || len(v) > MaxLedgerTicketChars {
		return Errorf(EINVALID, "%s must be 1 to %d characters, not %d", field, MaxLedgerTicketChars, len(v))
	}
	before, after, named := strings.Cut(v, "@")
	if named && (before == "" || after == "" || strings.Contains(after, "@")) {
		return Errorf(EINVALID, "%s %q is neither a ticket id nor a shipping watch's id", field, v)
	}
	return checkIDChars(field, before+after)
}

// CheckID refuses an id that is empty, longer than MaxIDChars or has a character
// outside [A-Za-z0-9._:-] (DESIGN §4), naming the field.
func CheckID(field, v string) error {
	if v == "" || len(v) > MaxIDChars {
		return Errorf(EINVALID, "%s must be 1 to %d characters, not %d", field, MaxIDChars, len(v))
	}
	return checkIDChars(field, v)
}

// checkIDChars refuses a character outside [A-Za-z0-9._:-], naming the field.
func checkIDChars(field, v string) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return Errorf(EINVALID, "%s may hold only letters, digits and . _ : - (found %q at position %d)", field, rune(c), i+1)
		}
	}
	return nil
}

// CheckCurrency refuses a currency that is not an ISO 4217 code.
func CheckCurrency(field, v string) error {
	if u, err := currency.ParseISO(v); err != nil || u.String() != v {
		return Errorf(EINVALID, "%s %q is not an ISO 4217 currency code such as CNY", field, v)
	}
	return nil
}

// CheckAmount refuses an amount outside 1 .. MaxAmountCents.
func CheckAmount(field string, cents int64) error {
	if cents < 1 || cents > MaxAmountCents {
		return Errorf(EINVALID, "%s must be 1 to %d cents, not %d", field, int64(MaxAmountCents), cents)
	}
	return nil
}

// CheckText refuses free text over MaxTextChars characters.
func CheckText(field, v string) error {
	if n := utf8.RuneCountInString(v); n > MaxTextChars {
		return Errorf(EINVALID, "%s is %d characters; the limit is %d", field, n, MaxTextChars)
	}
	return nil
}

// ParseLimitedDuration reads a client's duration (extend, within): a Go duration
// or whole days, above zero and at most MaxDuration.
func ParseLimitedDuration(field, v string) (time.Duration, error) {
	d, err := ParseDuration(v)
	if err != nil || d <= 0 || d.D() > MaxDuration {
		return 0, Errorf(EINVALID, "%s must be a duration above zero and at most 366d, such as 24h or 3d (got %q)", field, v)
	}
	return d.D(), nil
}

// checkBodyLimits refuses an action body over the limits, naming the field.
// evidenceOf counts the evidence entries role gave in e.
func evidenceOf(e *Escalation, role Role) int {
	n := 0
	for _, x := range e.Evidence {
		if x.Role == role {
			n++
		}
	}
	return n
}

func checkBodyLimits(t Ticket, req ActionRequest) error {
	b := req.Body
	for _, f := range []struct{ name, value string }{
		{"reason", b.Reason}, {"note", b.Note}, {"message", b.Message}, {"comment", b.Comment},
		{"carrier", b.Carrier}, {"tracking_no", b.TrackingNo},
	} {
		if n := utf8.RuneCountInString(f.value); n > MaxTextChars {
			return Errorf(EINVALID, "%s is %d characters; the limit is %d", f.name, n, MaxTextChars)
		}
	}
	if len(b.URLs) > MaxURLs {
		return Errorf(EINVALID, "urls has %d entries; the limit is %d", len(b.URLs), MaxURLs)
	}
	for i, u := range b.URLs {
		p, err := url.Parse(u)
		switch {
		case len(u) > MaxURLChars:
			return Errorf(EINVALID, "urls[%d] is %d characters; the limit is %d", i, len(u), MaxURLChars)
		case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
			return Errorf(EINVALID, "urls[%d] must be an http or https URL", i)
		}
	}
	for _, f := range []struct {
		name  string
		value *int64
	}{{"refund_cents", b.RefundCents}, {"requested_cents", b.RequestedCents}} {
		if f.value != nil && *f.value > MaxAmountCents {
			return Errorf(EINVALID, "%s is above the limit of %d cents", f.name, int64(MaxAmountCents))
		}
	}
	switch {
	case req.Action == ActReply && t.Replies >= MaxRepliesPerTicket:
		return Errorf(EINVALID, "ticket %s already has %d replies, the most a ticket takes", t.ID, MaxRepliesPerTicket)
	case req.Action == ActEvidence && t.Escalation != nil && evidenceOf(t.Escalation, req.Role) >= MaxEvidencePerParty:
		return Errorf(EINVALID, "you already gave %d evidence entries on ticket %s, the most each party may give", MaxEvidencePerParty, t.ID)
	}
	return nil
}
