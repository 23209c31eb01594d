package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aftersales/aftersales/models"
	"github.com/aftersales/aftersales/store"
)

// slaReport: after-sales duration, reply rate, dispute rate, auto actions and
// satisfaction over tickets created in [from, to) (default: the last 30 days).
func (s *Server) slaReport(c echo.Context) error {
	p, err := allow(c, models.RoleSeller, models.RolePlatform, models.RoleAdmin)
	if err != nil {
		return err
	}
	f := store.SLAFilter{To: s.now().UTC()}
	f.From = f.To.Add(-30 * 24 * time.Hour)
	if f.ShopID, err = shopScope(p, c.QueryParam("shop_id")); err != nil {
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
	shop, err := shopScope(p, c.QueryParam("shop_id"))
	if err != nil {
		return err
	}
	within := 24 * time.Hour
	if v := c.QueryParam("within"); v != "" {
		d, err := models.ParseDuration(v)
		if err != nil || d <= 0 {
			return models.Errorf(models.EINVALID, "within must be a duration such as 24h or 3d")
		}
		within = d.D()
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
	"created_at", "updated_at"}

// exportCSV streams the filtered tickets as CSV, page by page.
func (s *Server) exportCSV(c echo.Context) error {
	f, err := ticketFilter(c)
	if err != nil {
		return err
	}
	f.Limit = 200
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", `attachment; filename="tickets.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write(csvHeader)
	for {
		page, err := s.store.ListTickets(c.Request().Context(), f)
		if err != nil {
			s.log.Error("export stopped", "error", err)
			break
		}
		for _, t := range page.Tickets {
			_ = w.Write(csvRow(t))
		}
		w.Flush()
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	w.Flush()
	return nil
}

func csvRow(t models.Ticket) []string {
	dn, da := "", ""
	if t.Deadline != nil {
		dn, da = t.Deadline.Name, t.Deadline.At.UTC().Format(time.RFC3339)
	}
	b := strconv.FormatBool
	return []string{t.ID, t.OrderID, t.ShopID, t.BuyerID, string(t.Kind), string(t.State), string(t.Outcome),
		string(t.ReturnMethod), string(t.ReasonCode), strconv.FormatInt(t.RequestedCents, 10),
		strconv.FormatInt(t.RefundedCents, 10), t.Currency, dn, da, b(t.Flags.FastReviewed),
		b(t.Flags.LightningRefund), b(t.Flags.Escalated), b(t.Flags.ExcludedFromAssessment), t.PolicyVersion,
		t.CreatedAt.UTC().Format(time.RFC3339), t.UpdatedAt.UTC().Format(time.RFC3339)}
}
