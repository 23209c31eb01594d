package payment

import (
	"slices"
	"strings"

	"github.com/aftersales/aftersales/activities/providersim"
	"github.com/aftersales/aftersales/models"
)

// load reads the ledger file, when one is set, into the records (called once, from
// init). Payments still "sent" are settled again in auto mode, as a provider that
// restarted would finish them.
func (s *Simulator) load() {
	if s.LedgerFile == "" {
		return
	}
	var list []Record
	if err := providersim.LoadJSON(s.LedgerFile, &list); err != nil {
		s.logger().Error("payment simulator: ledger not read", "file", s.LedgerFile, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range list {
		r := &list[i]
		s.records[r.Key] = r
		s.payments++
		if r.Status == models.RefundSent {
			s.schedule(r)
		}
	}
}

// save writes the ledger file, when one is set, with s.mu held. The file is replaced
// whole (write, then rename), so a crash leaves the old or the new ledger.
func (s *Simulator) save() {
	if s.LedgerFile == "" {
		return
	}
	list := make([]Record, 0, len(s.records))
	for _, r := range s.records {
		list = append(list, *r)
	}
	slices.SortFunc(list, func(a, b Record) int { return strings.Compare(a.Key, b.Key) })
	if err := providersim.SaveJSON(s.LedgerFile, list); err != nil {
		s.logger().Error("payment simulator: ledger not saved", "file", s.LedgerFile, "error", err)
	}
}
