package courier

import (
	"slices"
	"strings"
	"time"

	"github.com/aftersales/aftersales/activities/providersim"
)

// record is a booking as the ledger file keeps it.
type record struct {
	Key     string      `json:"key"`
	Booking BookingInfo `json:"booking"`
	Pending []string    `json:"pending,omitempty"` // events still to send
	// Stamped holds the at of each event built, by type, so an event sent
	// again after a restart has the body it had (the API takes it as a repeat).
	Stamped map[string]time.Time `json:"stamped,omitempty"`
}

// load reads the ledger file, when one is set, into the bookings (called once,
// from init, with nothing else running): the events a booking still had to send
// are scheduled again, as a provider that restarted would finish its visits.
func (s *Simulator) load() {
	if s.LedgerFile == "" {
		return
	}
	var list []record
	if err := providersim.LoadJSON(s.LedgerFile, &list); err != nil {
		s.logger().Error("courier simulator: ledger not read", "file", s.LedgerFile, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range list {
		b := &booking{key: r.Key, info: r.Booking, stamped: r.Stamped}
		s.byKey[r.Key], s.byID[r.Booking.BookingID] = b, b
		if !r.Booking.Cancelled {
			s.schedule(b, r.Pending)
		}
	}
}

// save writes the ledger file, when one is set, with s.mu held: replaced whole
// (write, then rename), so a crash leaves the old or the new ledger.
func (s *Simulator) save() {
	if s.LedgerFile == "" {
		return
	}
	list := make([]record, 0, len(s.byID))
	for _, b := range s.byID {
		list = append(list, record{Key: b.key, Booking: b.info, Pending: b.pending, Stamped: b.stamped})
	}
	slices.SortFunc(list, func(a, b record) int { return strings.Compare(a.Booking.BookingID, b.Booking.BookingID) })
	if err := providersim.SaveJSON(s.LedgerFile, list); err != nil {
		s.logger().Error("courier simulator: ledger not written", "file", s.LedgerFile, "error", err)
	}
}
