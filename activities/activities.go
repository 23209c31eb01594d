// Package activities holds the side effects of the ticket workflows: the read-model
// projection, the courier and the payment provider. Each dependency is a small
// interface declared here, where it is used; adapters live in subpackages.
package activities

import (
	"context"

	"github.com/aftersales/aftersales/models"
)

// Activities is registered with the worker; the workflows call its methods by name.
type Activities struct {
	Store  TicketStore
	Ledger RefundLedger
	// Parcels follows self-shipped parcels by carrier and tracking number; nil
	// leaves them to the seller's confirm_receipt.
	Parcels ParcelRegistry
	Courier Courier
	Payment Payment
	// Notifier delivers the tickets' notices; the log and a metric when nil.
	Notifier Notifier
}

// TicketStore is the read model the projection writes to.
type TicketStore interface {
	// SaveTicket stores t unless a projection with a higher Seq is already stored.
	SaveTicket(ctx context.Context, t models.Ticket) error
}

// ProjectTicket writes the ticket's current view to the read model. It is idempotent
// and ordered by t.Seq, so retries and late duplicates change nothing.
func (a *Activities) ProjectTicket(ctx context.Context, t models.Ticket) error {
	return a.Store.SaveTicket(ctx, t)
}
