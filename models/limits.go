package models

import (
	"net/url"
	"unicode/utf8"
)

// The limits of DESIGN §4. They hold at the edge (the API refuses a body that
// breaks one) and inside the workflow (the update validator calls CheckAction),
// so no client can grow a ticket past what its history can carry.
const (
	MaxTextChars         = 2000              // reason, note, message, comment, carrier, tracking_no
	MaxURLs              = 10                // urls of one evidence entry
	MaxURLChars          = 2048              // each url
	MaxAmountCents       = 1_000_000_000_000 // 10^12 cents
	MaxRepliesPerTicket  = 200
	MaxEvidencePerTicket = 50
)

// checkBodyLimits refuses an action body over the limits, naming the field.
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
	case req.Action == ActEvidence && t.Escalation != nil && len(t.Escalation.Evidence) >= MaxEvidencePerTicket:
		return Errorf(EINVALID, "ticket %s already has %d evidence entries, the most a ticket takes", t.ID, MaxEvidencePerTicket)
	}
	return nil
}
