package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// Notice is what a ticket asks to tell a party (models.EffectNotify): today the
// platform, of an overpayment the charges back could not recover.
type Notice struct {
	TicketID string `json:"ticket_id"`
	To       string `json:"to"`
	Message  string `json:"message"`
}

// Notifier delivers notices to the people who act on them (an operations channel,
// the platform's back office). Nil: each notice is written to the worker's log at
// warning level and counted as aftersales_notifications_total{to} on the
// worker's metrics, where an alert picks it up.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Notify delivers one notice. A retried activity may deliver it twice: a notice
// asks a person to look, so a repeat is harmless, where a lost one is not.
func (a *Activities) Notify(ctx context.Context, n Notice) error {
	if a.Notifier != nil {
		return a.Notifier.Notify(ctx, n)
	}
	activity.GetLogger(ctx).Warn("notification", "to", n.To, "ticket", n.TicketID, "message", n.Message)
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"to": n.To}).Counter("aftersales_notifications").Inc(1)
	return nil
}
