package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/app"
	"github.com/aftersales/aftersales/models"
)

// slaReport: after-sales duration, reply rate, dispute rate, auto actions and
// satisfaction over tickets created in [from, to) (default: the last 30 days).
func (s *Server) slaReport(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	f := models.SLAFilter{To: s.now().UTC()}
	f.From = f.To.Add(-30 * 24 * time.Hour)
	if f.ShopID, err = app.ShopScope(p, c.QueryParam("shop_id")); err != nil {
		return err
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return models.Errorf(models.EINVALID, "%s must be an RFC 3339 time such as 2026-11-01T00:00:00Z", name)
			}
			*dst = t
		}
	}
	if !f.From.Before(f.To) {
		return models.Errorf(models.EINVALID, "from must be before to")
	}
	r, err := s.store.SLAReport(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// warningsReport: open tickets whose deadline falls within `within` (default 24h),
// and the longest-open tickets.
func (s *Server) warningsReport(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	shop, err := app.ShopScope(p, c.QueryParam("shop_id"))
	if err != nil {
		return err
	}
	within := 24 * time.Hour
	if v := c.QueryParam("within"); v != "" {
		d, err := models.ParseLimitedDuration("within", v)
		if err != nil {
			return err
		}
		within = d
	}
	w, err := s.store.Warnings(c.Request().Context(), shop, within, s.now().UTC(), 50)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

var csvHeader = []string{"id", "order_id", "shop_id", "buyer_id", "kind", "state", "outcome", "return_method",
	"reason_code", "requested_cents", "refunded_cents", "currency", "deadline_name", "deadline_at",
	"fast_reviewed", "lightning_refund", "escalated", "excluded_from_assessment", "policy_version",
	"created_at", "updated_at", "rma", "items", "items_received", "items_refunded_cents"}

// exportPageSize is how many rows the export reads from the database at a time.
var exportPageSize = 200

// exportCSV streams the filtered tickets as CSV, page by page. A database error
// before the first byte is a 503; one after it aborts the response, so the client
// sees a broken download rather than a clean 200 that lacks rows.
func (s *Server) exportCSV(c echo.Context) error {
	f, err := ticketFilter(c)
	if err != nil {
		return err
	}
	f.Limit = exportPageSize
	ctx := c.Request().Context()
	page, err := s.store.ListTickets(ctx, f)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", `attachment; filename="tickets.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write(csvHeader)
	for {
		for _, t := range page.Tickets {
			_ = w.Write(csvSafe(csvRow(t)))
		}
		w.Flush()
		res.Flush() // stream page by page
		if page.NextCursor == "" {
			return nil
		}
		f.Cursor = page.NextCursor
		if page, err = s.store.ListTickets(ctx, f); err != nil {
			s.log.Error("export aborted mid-stream", "error", err)
			panic(http.ErrAbortHandler) // net/http drops the connection; Recover lets it through
		}
	}
}

// csvSafe neutralizes cells a spreadsheet would run as a formula (OWASP CSV
// injection): one that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe.
func csvSafe(row []string) []string {
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}

func csvRow(t models.Ticket) []string {
	dn, da := "", ""
	if t.Deadline != nil {
		dn, da = t.Deadline.Name, t.Deadline.At.UTC().Format(time.RFC3339)
	}
	b := strconv.FormatBool
	// Per line, as the ticket answer's lines: units received (once inspected)
	// and the net refunded, "SKU-1:1;SKU-2:0" and "SKU-1:1000;SKU-2:0".
	var got, paid []string
	for _, l := range models.TicketLines(t) {
		if l.Received != nil {
			got = append(got, l.SKU+":"+strconv.Itoa(*l.Received))
		}
		paid = append(paid, l.SKU+":"+strconv.FormatInt(l.RefundedCents, 10))
	}
	received, refunded := strings.Join(got, ";"), strings.Join(paid, ";")
	return []string{t.ID, t.OrderID, t.ShopID, t.BuyerID, string(t.Kind), string(t.State), string(t.Outcome),
		string(t.ReturnMethod), string(t.ReasonCode), strconv.FormatInt(t.RequestedCents, 10),
		strconv.FormatInt(t.RefundedCents, 10), t.Currency, dn, da, b(t.Flags.FastReviewed),
		b(t.Flags.LightningRefund), b(t.Flags.Escalated), b(t.Flags.ExcludedFromAssessment), t.PolicyVersion,
		t.CreatedAt.UTC().Format(time.RFC3339), t.UpdatedAt.UTC().Format(time.RFC3339), t.RMA, csvItems(t.Items),
		received, refunded}
}

// csvItems writes a ticket's lines and units in one cell, "SKU-1:2;SKU-2:1"
// (ids hold neither ':' nor ';').
func csvItems(items []models.Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.SKU + ":" + strconv.Itoa(it.Qty)
	}
	return strings.Join(parts, ";")
}
