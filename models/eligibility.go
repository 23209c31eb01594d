package models

import (
	"fmt"
	"slices"
	"time"
)

// Category flags an order line (DESIGN §2 Lines and eligibility): the first
// four exclude no-reason returns by law (网络购买商品七日无理由退货暂行办法 §6,
// 消法 §25), final_sale by the shop's confirmed terms.
type Category string

const (
	CategoryCustomized    Category = "customized"
	CategoryPerishable    Category = "perishable"
	CategoryDigitalOpened Category = "digital_opened"
	CategoryPeriodical    Category = "periodical"
	CategoryFinalSale     Category = "final_sale"
)

// Categories lists the categories a line may carry.
var Categories = []Category{CategoryCustomized, CategoryPerishable, CategoryDigitalOpened, CategoryPeriodical, CategoryFinalSale}

// Valid says whether c is empty (no category) or one of Categories.
func (c Category) Valid() bool { return c == "" || slices.Contains(Categories, c) }

// ReturnWindows are the legal return windows (policy return_windows), each a
// whole number of days counted from the day after the order's delivery
// (签收次日起算) in China Standard Time.
type ReturnWindows struct {
	NoReason        Duration `yaml:"no_reason" json:"no_reason"`
	QualityExchange Duration `yaml:"quality_exchange" json:"quality_exchange"`
	Repair          Duration `yaml:"repair" json:"repair"`
}

// DefaultReturnWindows: 七天无理由 (7 days), the 三包 quality exchange (15 days)
// and the warranty repair (365 days).
func DefaultReturnWindows() ReturnWindows {
	return ReturnWindows{NoReason: Duration(7 * day), QualityExchange: Duration(15 * day), Repair: Duration(365 * day)}
}

// chinaTime is China Standard Time, UTC+8 all year: the days of the windows.
var chinaTime = time.FixedZone("CST", 8*60*60)

// window is the return window a create falls under.
type window struct {
	rule, words string
	length      Duration
}

// windowOf is the window of a create: a no-reason return's, an exchange's for
// any other reason, a repair's; none for the rest (a refund for goods not
// received, a quality return, price protection).
func (w ReturnWindows) windowOf(c CreateTicket) (window, bool) {
	switch {
	case c.ReasonCode == ReasonNoReason:
		return window{"no_reason", "no-reason return (七天无理由)", w.NoReason}, true
	case c.Kind == KindExchange:
		return window{"quality_exchange", "quality exchange", w.QualityExchange}, true
	case c.Kind == KindRepair:
		return window{"repair", "warranty repair", w.Repair}, true
	}
	return window{}, false
}

// WindowCloses is when a window of length opened by a delivery at delivered
// closes: at the end of the length-th day after the day of delivery, in China
// Standard Time (delivered on the 1st, a 7-day window is open through the 8th).
func WindowCloses(delivered time.Time, length Duration) time.Time {
	d := delivered.In(chinaTime)
	days := int(length.D() / (24 * time.Hour))
	return time.Date(d.Year(), d.Month(), d.Day()+1+days, 0, 0, 0, 0, chinaTime)
}

// CheckEligibility refuses (EINVALID, naming the rule and the day the window
// closed) a create outside its return window, and a no-reason return of a line
// the law or the shop's terms exclude. lines are the lines returned, with the
// order record's categories; delivered is the order's delivery, nil while the
// goods have not arrived (no window has opened: the create is in time).
func CheckEligibility(c CreateTicket, lines []Item, delivered *time.Time, w ReturnWindows, now time.Time) error {
	win, ok := w.windowOf(c)
	if !ok {
		return nil
	}
	if win.rule == "no_reason" {
		for _, l := range lines {
			switch l.Category {
			case CategoryFinalSale:
				return Errorf(EINVALID, "return_windows.no_reason: sku %s was sold final sale under the shop's confirmed terms, so it has no no-reason return", l.SKU)
			case CategoryCustomized, CategoryPerishable, CategoryDigitalOpened, CategoryPeriodical:
				return Errorf(EINVALID, "return_windows.no_reason: sku %s is %s, which the law excludes from no-reason returns (消法 §25)", l.SKU, l.Category)
			}
		}
	}
	if delivered == nil {
		return nil
	}
	closes := WindowCloses(*delivered, win.length)
	if now.Before(closes) {
		return nil
	}
	last := closes.AddDate(0, 0, -1)
	return Errorf(EINVALID, "return_windows.%s: the %s window of %s from the day after delivery (%s) closed at the end of %s (China Standard Time)",
		win.rule, win.words, win.length, delivered.In(chinaTime).Format(time.DateOnly), last.Format(time.DateOnly))
}

// validate checks each window is a whole number of days, 1 to 366.
func (w ReturnWindows) validate() error {
	for _, f := range []struct {
		key string
		d   Duration
	}{{"no_reason", w.NoReason}, {"quality_exchange", w.QualityExchange}, {"repair", w.Repair}} {
		if f.d.D()%(24*time.Hour) != 0 || f.d < Duration(day) || f.d.D() > MaxDuration {
			return Errorf(EINVALID, "policy: return_windows.%s must be a whole number of days from 1d to 366d, got %s", f.key, f.d)
		}
	}
	return nil
}

// checkCategory refuses a line category that is not one of Categories.
func checkCategory(field string, c Category) error {
	if !c.Valid() {
		return Errorf(EINVALID, "%s %q is not a category; categories are %s", field, c, joinAll(Categories))
	}
	return nil
}

// OverrideNote is the creation's audit entry of a platform that opened a
// ticket the windows refuse: what it overrode, and why.
func OverrideNote(refused, note string) string {
	if refused == "" {
		return note
	}
	return fmt.Sprintf("%s; opened by the platform: %s", refused, note)
}

// HoldsUnits says whether the ticket holds the units of the lines it names
// against its order (DESIGN §2 Lines and eligibility): while it is open, and
// after it ended if money or goods moved; a ticket that closed with nothing
// moved gives them back.
func (t Ticket) HoldsUnits() bool {
	if !t.State.Terminal() || t.RefundedCents > 0 {
		return true
	}
	for _, r := range t.Refunds {
		if r.Status == RefundSucceeded || r.Status == RefundReversed {
			return true
		}
	}
	l := t.Logistics
	return l.Returned || l.TrackingNo != "" || l.ReplacementNo != "" || l.RepairOrder != ""
}

// UnitsHeld is what other tickets of an order hold of one line: their units
// and the first ticket that holds some.
type UnitsHeld struct {
	Units  int
	Ticket string
}

// CheckUnits refuses (ECONFLICT, naming the ticket that holds them) lines that
// ask for more units of an order line than its ordered units less those held
// by other tickets; held maps a line's sku to what the others hold.
func CheckUnits(lines, ordered []Item, held map[string]UnitsHeld) error {
	for i, l := range lines {
		j := slices.IndexFunc(ordered, func(o Item) bool { return o.SKU == l.SKU })
		if j < 0 {
			continue // not a line of the order: orderedItems refused it already
		}
		h := held[l.SKU]
		if h.Units+l.Qty > ordered[j].Qty {
			return Errorf(ECONFLICT, "items[%d]: %d of the %d units of sku %s are held by ticket %s (open, or ended with money or goods moved); at most %d more may be returned",
				i, h.Units, ordered[j].Qty, l.SKU, h.Ticket, max(ordered[j].Qty-h.Units, 0))
		}
	}
	return nil
}

// RequestedForLines bounds and defaults what a create asks for by the lines it
// names (DESIGN §2 Lines and eligibility): at most what those units were paid
// (unit_paid_cents × qty), and, asked nothing, all of it, for the kinds that
// refund. Lines without prices (an order registered without them, or with
// some of them) bound nothing: UnitsWorth.
func RequestedForLines(c CreateTicket) (int64, error) {
	worth, priced := UnitsWorth(c.Items)
	refunds := c.Kind == KindRefundOnly || c.Kind == KindReturnRefund || c.Kind == KindPriceProtection
	switch {
	case !priced || !refunds:
		return c.RequestedCents, nil
	case c.RequestedCents == 0:
		return worth, nil
	case c.RequestedCents > worth:
		return 0, Errorf(EINVALID, "requested_cents %d is more than the %d cents the units named were paid (unit_paid_cents × qty); name more units or ask less", c.RequestedCents, worth)
	}
	return c.RequestedCents, nil
}
