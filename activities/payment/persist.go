package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/aftersales/aftersales/models"
)

// load reads the ledger file, when one is set, into the records (called once, from
// init). Payments still "sent" are settled again in auto mode, as a provider that
// restarted would finish them.
func (s *Simulator) load() {
	if s.LedgerFile == "" {
		return
	}
	raw, err := os.ReadFile(s.LedgerFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	} else if err != nil {
		s.logger().Error("payment simulator: ledger not read", "file", s.LedgerFile, "error", err)
		return
	}
	var list []Record
	if err := json.Unmarshal(raw, &list); err != nil {
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
	raw, _ := json.MarshalIndent(list, "", " ")
	tmp := s.LedgerFile + ".tmp"
	err := os.WriteFile(tmp, raw, 0o600)
	if err == nil {
		err = os.Rename(tmp, s.LedgerFile)
	}
	if err != nil {
		s.logger().Error("payment simulator: ledger not saved", "file", s.LedgerFile, "error", fmt.Errorf("%w", err))
	}
}
