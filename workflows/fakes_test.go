package workflows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// fakes are the in-memory dependencies of a real *activities.Activities. They are
// safe for concurrent use (the test environment runs activities on goroutines) and
// may be shared by several test environments (several tickets of one order).
type fakes struct {
	store   *fakeStore
	ledger  *fakeLedger
	courier *fakeCourier
	pay     *fakePayment
	notes   *fakeNotifier
}

func newFakes() *fakes {
	return &fakes{store: newFakeStore(), ledger: newFakeLedger(), courier: newFakeCourier(), pay: newFakePayment(), notes: &fakeNotifier{}}
}

func (f *fakes) activities() *activities.Activities {
	return &activities.Activities{Store: f.store, Ledger: f.ledger, Courier: f.courier, Payment: f.pay, Notifier: f.notes}
}

// fakeNotifier records the notices delivered.
type fakeNotifier struct {
	mu   sync.Mutex
	sent []activities.Notice
}

func (n *fakeNotifier) Notify(_ context.Context, notice activities.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, notice)
	return nil
}

func (n *fakeNotifier) all() []activities.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]activities.Notice(nil), n.sent...)
}

// ---- read model ----

// fakeStore records every SaveTicket call and keeps the projection with the highest
// Seq, as store.DB.SaveTicket does.
type fakeStore struct {
	mu     sync.Mutex
	calls  map[string][]int64 // ticket id -> seqs in call order
	latest map[string]models.Ticket
}

func newFakeStore() *fakeStore {
	return &fakeStore{calls: map[string][]int64{}, latest: map[string]models.Ticket{}}
}

func (s *fakeStore) SaveTicket(_ context.Context, t models.Ticket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[t.ID] = append(s.calls[t.ID], t.Seq)
	cur, ok := s.latest[t.ID]
	// The timeline is merged by seq (a projection carries only its new entries);
	// the row is replaced only by a newer one.
	have := map[int64]bool{}
	for _, e := range cur.Timeline {
		have[e.Seq] = true
	}
	timeline := cur.Timeline
	for _, e := range t.Timeline {
		if !have[e.Seq] {
			timeline = append(timeline, e)
		}
	}
	sort.Slice(timeline, func(i, j int) bool { return timeline[i].Seq < timeline[j].Seq })
	if !ok || t.Seq >= cur.Seq {
		cur = t
	}
	cur.Timeline = timeline
	s.latest[t.ID] = cur
	return nil
}

func (s *fakeStore) seqs(id string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.calls[id]...)
}

func (s *fakeStore) get(id string) (models.Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.latest[id]
	return t, ok
}

// ---- refunds ledger ----

// fakeLedger mirrors store.DB.ReserveRefund / MarkRefund (store/refunds.go): one row
// per key, written before the provider call; refunds of an order capped at what was
// paid; statuses move monotonically; a failure releases the amount from the cap.
type fakeLedger struct {
	mu       sync.Mutex
	rows     map[string]*models.RefundRow
	order    []string             // keys in reservation order
	totals   map[string]*[2]int64 // order id -> {paid, reserved}
	reserves map[string]int       // ReserveRefund calls per key
	refused  map[string]string    // key -> error code of a refused reservation
	marks    map[string][]string  // MarkRefund statuses per key
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{rows: map[string]*models.RefundRow{}, totals: map[string]*[2]int64{},
		reserves: map[string]int{}, refused: map[string]string{}, marks: map[string][]string{}}
}

func (l *fakeLedger) ReserveRefund(_ context.Context, r store.RefundReservation) (models.RefundRow, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserves[r.Key]++
	switch {
	case strings.TrimSpace(r.Key) == "" || len(r.Key) > models.MaxMoneyKeyChars:
		return models.RefundRow{}, models.Errorf(models.EINVALID, "refund key must have 1 to 255 characters")
	case strings.TrimSpace(r.OrderID) == "":
		return models.RefundRow{}, models.Errorf(models.EINVALID, "refund %s names no order id", r.Key)
	case r.AmountCents <= 0:
		return models.RefundRow{}, models.Errorf(models.EINVALID, "refund %s amount must be more than 0 cents", r.Key)
	case r.Purpose == "" || len(r.Purpose) > 32:
		return models.RefundRow{}, models.Errorf(models.EINVALID, "refund %s needs a purpose", r.Key)
	case r.PaidCents < 0:
		return models.RefundRow{}, models.Errorf(models.EINVALID, "paid_cents is negative")
	}
	if row, ok := l.rows[r.Key]; ok {
		found := *row
		found.Reserved = false
		return found, nil // idempotent repeat, whatever the other fields say
	}
	if r.Purpose == models.PurposeRefund {
		if _, ok := l.totals[models.OrderName(r.ShopID, r.OrderID)]; !ok && r.PaidCents > 0 {
			l.totals[models.OrderName(r.ShopID, r.OrderID)] = &[2]int64{r.PaidCents, 0}
		}
		tot, ok := l.totals[models.OrderName(r.ShopID, r.OrderID)]
		if !ok {
			return models.RefundRow{}, models.Errorf(models.EINVALID, "order %s has no refund ledger yet", r.OrderID)
		}
		if tot[1]+r.AmountCents > tot[0] {
			l.refused[r.Key] = models.ECONFLICT
			return models.RefundRow{}, models.Errorf(models.ECONFLICT,
				"refunds of order %s would total %d cents, more than the %d cents paid", r.OrderID, tot[1]+r.AmountCents, tot[0])
		}
		tot[1] += r.AmountCents
	}
	row := &models.RefundRow{Key: r.Key, TicketID: r.TicketID, ShopID: r.ShopID, OrderID: r.OrderID, AmountCents: r.AmountCents,
		Currency: r.Currency, Purpose: r.Purpose, Status: models.RefundPending}
	l.rows[r.Key] = row
	l.order = append(l.order, r.Key)
	made := *row
	made.Reserved = true
	return made, nil
}

func (l *fakeLedger) MarkRefund(_ context.Context, key string, status models.MoneyStatus, providerRef string) (models.RefundRow, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := models.NextMoneyStatus(models.RefundPending, status); !ok {
		return models.RefundRow{}, models.Errorf(models.EINVALID, "refund status %q is not one a refund can move to", status)
	}
	row, ok := l.rows[key]
	if !ok {
		return models.RefundRow{}, models.Errorf(models.ENOTFOUND, "refund %s not found", key)
	}
	l.marks[key] = append(l.marks[key], string(status))
	cur := *row
	next, changed := models.NextMoneyStatus(cur.Status, status)
	switch {
	case status == models.RefundSent && (cur.Status == models.RefundPending || cur.Status == models.RefundSent):
		row.Status = models.RefundSent
		row.Attempts++
	case changed:
		row.Status = next
	default:
		return *row, nil
	}
	if providerRef != "" {
		row.ProviderRef = providerRef
	}
	if tot := l.totals[models.OrderName(cur.ShopID, cur.OrderID)]; tot != nil {
		tot[1] += models.OrderCapDelta(cur.Purpose, cur.Status, row.Status, cur.AmountCents)
	}
	return *row, nil
}

func (l *fakeLedger) row(key string) (models.RefundRow, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.rows[key]
	if !ok {
		return models.RefundRow{}, false
	}
	return *r, true
}

func (l *fakeLedger) reserveCalls(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reserves[key]
}

// keys returns the ledger's keys in reservation order.
func (l *fakeLedger) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// reserved returns what the refunds of the order of shopID hold against its
// cap (pending, sent, succeeded).
func (l *fakeLedger) reserved(orderID string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.totals[models.OrderName(shopID, orderID)]; ok {
		return t[1]
	}
	return 0
}

// succeededRefunds sums the succeeded rows of purpose refund of an order.
func (l *fakeLedger) succeededRefunds(orderID string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, r := range l.rows {
		if r.OrderID == orderID && r.Purpose == models.PurposeRefund && r.Status == models.RefundSucceeded {
			n += r.AmountCents
		}
	}
	return n
}

// check verifies the ledger's own invariants: one row per key (the map guarantees
// it; the order list must agree) and the cap of every order.
// check: one row per reservation, and no order reserves more than was paid, but
// for overpaidBy a provider paid that nobody could recover.
func (l *fakeLedger) check(overpaidBy int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.order) != len(l.rows) {
		return fmt.Errorf("ledger has %d rows for %d reservations", len(l.rows), len(l.order))
	}
	seen := map[string]bool{}
	for _, k := range l.order {
		if seen[k] {
			return fmt.Errorf("ledger holds key %s twice", k)
		}
		seen[k] = true
	}
	for id, t := range l.totals {
		if t[1] > t[0]+overpaidBy || t[1] < 0 {
			return fmt.Errorf("order %s reserves %d of %d paid", id, t[1], t[0])
		}
	}
	return nil
}

// ---- courier ----

// fakeCourier answers every booking at once and records the calls.
type fakeCourier struct {
	mu       sync.Mutex
	verify   bool
	pickups  []activities.PickupRequest
	swaps    []activities.PickupRequest
	cancels  []string
	shipped  []activities.ShipmentRequest
	repairs  []activities.ShipmentRequest
	verifies []string
}

func newFakeCourier() *fakeCourier { return &fakeCourier{verify: true} }

func (c *fakeCourier) setVerify(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verify = ok
}

func (c *fakeCourier) BookPickup(_ context.Context, req activities.PickupRequest) (activities.Booking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pickups = append(c.pickups, req)
	return activities.Booking{BookingID: fmt.Sprintf("pickup-%s-%d", req.TicketID, req.Attempt),
		TrackingNo: fmt.Sprintf("SF%s%d", req.TicketID, req.Attempt)}, nil
}

func (c *fakeCourier) CancelPickup(_ context.Context, ticketID, bookingID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancels = append(c.cancels, bookingID)
	return nil
}

func (c *fakeCourier) BookSwapVisit(_ context.Context, req activities.PickupRequest) (activities.Booking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.swaps = append(c.swaps, req)
	return activities.Booking{BookingID: fmt.Sprintf("swap-%s-%d", req.TicketID, req.Attempt),
		TrackingNo: fmt.Sprintf("JD%s%d", req.TicketID, req.Attempt)}, nil
}

func (c *fakeCourier) ShipReplacement(_ context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shipped = append(c.shipped, req)
	return activities.Booking{BookingID: "repl-" + req.TicketID, TrackingNo: "RP" + req.TicketID}, nil
}

func (c *fakeCourier) SendToRepair(_ context.Context, req activities.ShipmentRequest) (activities.Booking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.repairs = append(c.repairs, req)
	return activities.Booking{BookingID: "repair-" + req.TicketID}, nil
}

func (c *fakeCourier) VerifyTracking(_ context.Context, carrier, trackingNo string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verifies = append(c.verifies, carrier+" "+trackingNo)
	return c.verify, nil
}

// SubscribeTracking: the fake courier reports nothing by itself; tests send the
// events.
func (c *fakeCourier) SubscribeTracking(context.Context, string, string) error { return nil }

type courierCounts struct{ pickups, swaps, cancels, shipped, repairs, verifies int }

func (c *fakeCourier) counts() courierCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return courierCounts{len(c.pickups), len(c.swaps), len(c.cancels), len(c.shipped), len(c.repairs), len(c.verifies)}
}

// ---- payment provider ----

// fakePayment keeps its own ledger by key: a key it sees for the first time is
// accepted ("sent"); the final result comes later by webhook (or settle). It counts
// the calls that would move money, per key.
type fakePayment struct {
	mu       sync.Mutex
	receipts map[string]activities.Receipt
	requests map[string]activities.MoneyRequest
	calls    map[string]int
	methods  map[string][]string
	lookups  map[string]int
	// lose is how many of the next calls act but lose their answer (a timeout
	// after the provider moved the money).
	lose int
}

func newFakePayment() *fakePayment {
	return &fakePayment{receipts: map[string]activities.Receipt{}, requests: map[string]activities.MoneyRequest{},
		calls: map[string]int{}, methods: map[string][]string{}, lookups: map[string]int{}}
}

func (p *fakePayment) move(method string, req activities.MoneyRequest) (activities.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[req.Key]++
	p.methods[req.Key] = append(p.methods[req.Key], method)
	if r, ok := p.receipts[req.Key]; ok {
		return r, nil // a real provider is idempotent by key; the call is still counted
	}
	p.requests[req.Key] = req
	r := activities.Receipt{Key: req.Key, Status: models.RefundSent, ProviderRef: "pay-" + req.Key}
	p.receipts[req.Key] = r
	if p.lose > 0 {
		p.lose--
		return activities.Receipt{}, errors.New("provider timeout: answer lost")
	}
	return r, nil
}

func (p *fakePayment) loseAnswers(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lose = n
}

func (p *fakePayment) Refund(_ context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return p.move("refund", req)
}

func (p *fakePayment) Compensate(_ context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return p.move("compensate", req)
}

func (p *fakePayment) ChargeRecovery(_ context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return p.move("recovery", req)
}

func (p *fakePayment) ClaimFreightInsurance(_ context.Context, req activities.MoneyRequest) (activities.Receipt, error) {
	return p.move("freight", req)
}

func (p *fakePayment) Lookup(_ context.Context, key string) (activities.Receipt, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups[key]++
	r, ok := p.receipts[key]
	return r, ok, nil
}

// settle decides the provider's final result for key (as if its webhook were lost).
// It returns the status that stands: the first decision wins.
func (p *fakePayment) settle(key string, status models.MoneyStatus) models.MoneyStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.receipts[key]
	if !ok {
		return ""
	}
	if r.Status == models.RefundSent {
		r.Status = status
		p.receipts[key] = r
	}
	return r.Status
}

func (p *fakePayment) callsFor(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[key]
}

func (p *fakePayment) lookupsFor(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lookups[key]
}

func (p *fakePayment) methodsFor(key string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.methods[key]...)
}

func (p *fakePayment) request(key string) (activities.MoneyRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.requests[key]
	return r, ok
}

func (p *fakePayment) status(key string) models.MoneyStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.receipts[key].Status
}

// keys returns every key the provider was called with, sorted.
func (p *fakePayment) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.calls))
	for k := range p.calls {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check verifies that no key was sent to the provider more than once.
func (p *fakePayment) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, n := range p.calls {
		if n > 1 {
			return fmt.Errorf("payment provider called %d times for key %s (%v)", n, k, p.methods[k])
		}
	}
	return nil
}
