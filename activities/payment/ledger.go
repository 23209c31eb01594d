package payment

import (
	"encoding/json"
	"net/http"
	"sort"
)

// Ledger returns copies of the records of a ticket (all records when ticketID is
// empty), sorted by key.
func (s *Simulator) Ledger(ticketID string) []Record {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Record{}
	for _, r := range s.records {
		if ticketID == "" || r.TicketID == ticketID {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ServeHTTP answers GET /sim/payments?ticket_id= (mount it at that path) with
// {"refunds": [Record...]}: the ledger of the ticket, or all records when ticket_id is
// empty, sorted by key. Other methods get 405.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"error":{"code":"method_not_allowed","message":"use GET /sim/payments?ticket_id=..."}}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]Record{"refunds": s.Ledger(r.URL.Query().Get("ticket_id"))})
}
