package models

import "testing"

// OrderOverBy, figure by figure: an order paid 10000, and the movements the
// ledger holds when a refund of ticket A, just succeeded, is measured.
func TestOrderOverBy(t *testing.T) {
	ok := func(ticket string, p Purpose, s MoneyStatus, amount int64) LedgerEntry {
		return LedgerEntry{TicketID: ticket, Purpose: p, Status: s, AmountCents: amount}
	}
	a := ok("A", PurposeRefund, RefundSucceeded, 6000)
	cases := []struct {
		name   string
		others []LedgerEntry
		want   int64
	}{
		{"alone, within what was paid", nil, 0},
		{"another ticket paid 7000: 3000 over", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 7000)}, 3000},
		{"another ticket paid the whole order: all of A over, no more", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 10000), ok("C", PurposeRefund, RefundSucceeded, 5000)}, 6000},
		{"a key only reserved takes nothing", []LedgerEntry{ok("B", PurposeRefund, RefundSent, 10000), ok("B", PurposeRefund, RefundPending, 10000)}, 0},
		{"a void key takes nothing", []LedgerEntry{ok("B", PurposeRefund, RefundVoid, 10000)}, 0},
		{"another ticket's charge back in flight counts as taken", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 10000), ok("B", PurposeOverpaid, RefundSent, 4000)}, 2000},
		{"a recovery that took money back counts", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 10000), ok("B", PurposeRecovery, RefundSucceeded, 10000)}, 0},
		{"a void charge back takes nothing back", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 10000), ok("B", PurposeOverpaid, RefundVoid, 10000)}, 6000},
		{"a repayment paid counts", []LedgerEntry{ok("B", PurposeRepayment, RefundSucceeded, 5000)}, 1000},
		{"A's own overpayment charge is left out (A adds it back)", []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 10000), ok("A", PurposeOverpaid, RefundSucceeded, 6000)}, 6000},
		{"freight and compensation are other money", []LedgerEntry{ok("B", PurposeFreight, RefundSucceeded, 9000), ok("W", PurposeCompensate, RefundSucceeded, 9000)}, 0},
	}
	for _, c := range cases {
		if got := OrderOverBy(a, append([]LedgerEntry{a}, c.others...), 10000); got != c.want {
			t.Errorf("%s: %d over, want %d", c.name, got, c.want)
		}
	}
	if got := OrderOverBy(ok("A", PurposeOverpaid, RefundSucceeded, 6000), []LedgerEntry{ok("B", PurposeRefund, RefundSucceeded, 20000)}, 10000); got != 0 {
		t.Errorf("a charge back never takes an order over: %d", got)
	}
}
