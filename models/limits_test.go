package models

import (
	"strings"
	"testing"
)

func TestActionLimits(t *testing.T) {
	big := int64(MaxAmountCents + 1)
	cases := []struct {
		name, action, field string
		body                ActionBody
		edit                func(*Ticket)
	}{
		{"a reply over 2000 characters", ActReply, "message", ActionBody{Message: strings.Repeat("字", MaxTextChars+1)}, nil},
		{"a reason over 2000 characters", ActReject, "reason", ActionBody{Reason: strings.Repeat("a", MaxTextChars+1)}, nil},
		{"the 201st reply", ActReply, "replies", ActionBody{Message: "hi"}, func(t *Ticket) { t.Replies = MaxRepliesPerTicket }},
		{"an offer above 10^12 cents", ActOffer, "refund_cents", ActionBody{RefundCents: &big}, nil},
		{"11 urls", ActReply, "urls", ActionBody{Message: "x", URLs: strings.Split(strings.Repeat("https://e.x/a,", 11)[:14*11-1], ",")}, nil},
		{"a url that is not http", ActReply, "urls[0]", ActionBody{Message: "x", URLs: []string{"javascript:alert(1)"}}, nil},
		{"a url over 2048 characters", ActReply, "urls[0]", ActionBody{Message: "x", URLs: []string{"https://e.x/" + strings.Repeat("a", MaxURLChars)}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
			if c.edit != nil {
				c.edit(&s.tk)
			}
			err := s.try(Input{Action: &ActionRequest{Action: c.action, Actor: "shop-1", Role: RoleSeller, Body: c.body}})
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.field) {
				t.Fatalf("got %v, want an invalid-parameter error naming %s", err, c.field)
			}
		})
	}
	t.Run("2000 characters is within the limit", func(t *testing.T) {
		s := newStory(t, CreateTicket{Kind: KindRefundOnly}, nil)
		s.act(RoleSeller, ActReply, ActionBody{Message: strings.Repeat("字", MaxTextChars)})
	})
}
