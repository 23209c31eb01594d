package api_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// failingList is the read model with ListTickets failing from call n on.
type failingList struct {
	*store.DB
	calls  atomic.Int32
	failAt int32
}

func (f *failingList) ListTickets(ctx context.Context, flt models.TicketFilter) (models.TicketPage, error) {
	if f.calls.Add(1) >= f.failAt {
		// What store.DB answers when its connection is gone.
		return models.TicketPage{}, models.Errorf(models.EUNAVAILABLE, "the database is not reachable (list tickets); try again shortly")
	}
	return f.DB.ListTickets(ctx, flt)
}

func exportWith(t *testing.T, st api.Store, shop string) (*http.Response, [][]string, error) {
	t.Helper()
	cfg := h.cfg
	cfg.Store = st
	hs := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(hs.Close)
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/tickets/export.csv?shop_id="+shop, nil)
	req.Header.Set("Authorization", "Bearer "+h.keys["platform"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res, nil, nil
	}
	// Row by row, to keep what arrived before a break.
	var rows [][]string
	r := csv.NewReader(res.Body)
	for {
		row, err := r.Read()
		if err == io.EOF {
			return res, rows, nil
		} else if err != nil {
			return res, rows, err
		}
		rows = append(rows, row)
	}
}

// An id a spreadsheet would run as a formula is exported with a leading apostrophe.
func TestExportNeutralizesFormulas(t *testing.T) {
	shop, _ := newShop(t)
	order := "-cmd-" + shop // an id may start with '-': a spreadsheet reads a formula
	newTicket(t, func(c *models.CreateTicket) { c.ShopID, c.OrderID = shop, order })
	res, rows, err := exportWith(t, h.db, shop)
	if err != nil || res.StatusCode != http.StatusOK || len(rows) != 2 {
		t.Fatalf("export: %v, %d rows", err, len(rows))
	}
	if got := rows[1][1]; got != "'"+order {
		t.Errorf("order_id cell %q, want '%s", got, order)
	}
}

// A database failure before the first row is a 503; after it, the download
// breaks instead of ending as a clean, short 200.
func TestExportAbortsOnDatabaseFailure(t *testing.T) {
	shop, _ := newShop(t)
	for range 3 {
		newTicket(t, func(c *models.CreateTicket) { c.ShopID = shop })
	}
	if res, _, err := exportWith(t, &failingList{DB: h.db, failAt: 1}, shop); err != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("failure before the first row: %v, want 503 with Retry-After", err)
	}
	// The export reads exportPageSize (2 in these tests) rows a page: the
	// second page fails after the first is sent.
	res, rows, err := exportWith(t, &failingList{DB: h.db, failAt: 2}, shop)
	if err == nil || res.StatusCode != http.StatusOK || len(rows) < 2 {
		t.Errorf("failure mid-stream: %v after %d rows; want the first page sent, then a broken download", err, len(rows))
	}
}

// The export names each ticket's RMA number and its lines and units returned.
func TestExportNamesLinesAndRMA(t *testing.T) {
	shop, _ := newShop(t)
	tk := newTicket(t, func(c *models.CreateTicket) {
		c.ShopID, c.RequestedCents = shop, 129900
		c.Items = []models.Item{{SKU: "SKU-1", Qty: 1, UnitPaidCents: 129900}}
	})
	res, rows, err := exportWith(t, h.db, shop)
	if err != nil || res.StatusCode != http.StatusOK || len(rows) != 2 {
		t.Fatalf("export: %v, %d rows", err, len(rows))
	}
	head, row := rows[0], rows[1]
	col := func(name string) string {
		for i, h := range head {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no %s column in %v", name, head)
		return ""
	}
	if got := col("items"); got != "SKU-1:1" {
		t.Errorf("items cell %q, want SKU-1:1", got)
	}
	if got := col("rma"); got == "" || got != tk.RMA {
		t.Errorf("rma cell %q, want the ticket's %q", got, tk.RMA)
	}
}
