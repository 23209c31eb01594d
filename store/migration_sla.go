package store

import (
	"fmt"
	"strings"
)

// slaSumsSQL sums, over ticket rows, the counters of sla_daily (the columns of
// slaCountColumns before the duration buckets, in order): the definitions of
// SLAReport in SQL. The back-fill of schema
// 7 and the report (for the part of a period that is not whole days) both use it.
const slaSumsSQL = `
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND state = 'completed' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND state = 'closed' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND escalated <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND auto_acted <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND fast_reviewed <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND lightning_refund <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND first_reply_at IS NOT NULL AND reply_late = 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND evaluation_score IS NOT NULL THEN evaluation_score ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN excluded_from_assessment = 0 AND evaluation_score IS NOT NULL THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN sla_duration_us IS NOT NULL THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(sla_duration_us), 0)`

// slaMigration is schema 12: the columns, aggregate tables and indexes that keep
// lists, warnings and SLA reports fast at millions of tickets, with every
// existing ticket back-filled so an upgraded database reports what it did.
//
//   - tickets.is_open (state neither completed nor closed), sla_duration_us and
//     sla_bucket (see ticketRow.slaDuration), computed from the stored columns;
//   - sla_daily and sla_hourly (see sla_aggregate.go), summed from tickets;
//   - indexes in the order the queries filter and sort: a shop's tickets newest
//     first (with or without a state), deadlines (a shop's or all) with the
//     keys lists sort by, open tickets by age and by deadline, and the tickets
//     of one duration bucket by duration. (shop_id, state) and (deadline_at)
//     are dropped: the indexes that extend them serve what they served.
func slaMigration(version int) migration {
	aggregate := func(g slaGrain) table {
		return table{name: g.table, columns: `
			shop_id VARCHAR(128) NOT NULL,
			` + g.column + ` INTEGER NOT NULL,
			` + strings.Join(slaCountColumns, " BIGINT NOT NULL DEFAULT 0,\n\t\t\t") + ` BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (shop_id, ` + g.column + `)`,
			indexes: [][2]string{{"idx_" + g.table + "_" + g.column, g.column}}}
	}
	indexes := [][2]string{
		{"idx_tickets_shop_created", "shop_id, created_at, id"},
		{"idx_tickets_shop_state_created", "shop_id, state, created_at, id"},
		{"idx_tickets_shop_deadline", "shop_id, deadline_at, created_at, id"},
		{"idx_tickets_deadline_created", "deadline_at, created_at, id"},
		{"idx_tickets_open_created", "is_open, created_at, id"},
		{"idx_tickets_open_deadline", "is_open, deadline_at, id"},
		{"idx_tickets_shop_open_created", "shop_id, is_open, created_at, id"},
		{"idx_tickets_sla_bucket", "sla_bucket, sla_duration_us, created_at"},
		{"idx_tickets_shop_sla_bucket", "shop_id, sla_bucket, sla_duration_us, created_at"},
	}
	sums := slaSumsSQL
	for i := 0; i < slaBuckets; i++ {
		sums += fmt.Sprintf(",\n\tSUM(CASE WHEN sla_bucket = %d THEN 1 ELSE 0 END)", i)
	}
	counts := strings.Join(slaCountColumns, ", ")
	// backfill is the same on both dialects but for how a duration and the
	// period of each grain (in the order of slaGrains) are computed from stored
	// times.
	backfill := func(duration string, periods ...string) []string {
		stmts := []string{
			"UPDATE tickets SET is_open = CASE WHEN state IN ('completed', 'closed') THEN 0 ELSE 1 END",
			"UPDATE tickets SET sla_duration_us = " + duration + " WHERE ended_at IS NOT NULL AND excluded_from_assessment = 0",
			"UPDATE tickets SET sla_bucket = " + slaBucketSQL("sla_duration_us") + " WHERE sla_duration_us IS NOT NULL",
		}
		for i, g := range slaGrains {
			stmts = append(stmts, "DELETE FROM "+g.table,
				"INSERT INTO "+g.table+" (shop_id, "+g.column+", "+counts+") SELECT shop_id, "+periods[i]+", "+sums+
					" FROM tickets GROUP BY shop_id, "+periods[i])
		}
		return stmts
	}

	m := migration{version: version, name: "tickets.is_open, tickets.sla_duration_us, sla_daily, sla_hourly, indexes"}
	// SQLite stores times as text in timeLayout: whole seconds from strftime,
	// microseconds from the last six digits.
	secs := func(col string) string { return "CAST(strftime('%s', substr(" + col + ", 1, 19)) AS INTEGER)" }
	micros := func(col string) string { return "CAST(substr(" + col + ", 21, 6) AS INTEGER)" }
	m.sqlite = append(m.sqlite,
		"ALTER TABLE tickets ADD COLUMN is_open BOOLEAN NOT NULL DEFAULT 0",
		"ALTER TABLE tickets ADD COLUMN sla_duration_us BIGINT NULL",
		"ALTER TABLE tickets ADD COLUMN sla_bucket INTEGER NULL")
	for _, g := range slaGrains {
		m.sqlite = append(m.sqlite, aggregate(g).sqliteDDL()...)
	}
	m.sqlite = append(m.sqlite, backfill(
		"("+secs("ended_at")+" - "+secs("created_at")+") * 1000000 + "+micros("ended_at")+" - "+micros("created_at"),
		"CAST(strftime('%s', substr(created_at, 1, 10)) AS INTEGER) / 86400",
		"CAST(strftime('%s', substr(created_at, 1, 13) || ':00:00') AS INTEGER) / 3600")...)
	m.sqlite = append(m.sqlite, "DROP INDEX idx_tickets_shop_state", "DROP INDEX idx_tickets_deadline_at")
	for _, ix := range indexes {
		m.sqlite = append(m.sqlite, "CREATE INDEX "+ix[0]+" ON tickets ("+ix[1]+")")
	}

	// MySQL: one ALTER for the columns and indexes (one rebuild of tickets);
	// the statements after it can run again if the migration is interrupted.
	alter := "ALTER TABLE tickets ADD COLUMN is_open BOOLEAN NOT NULL DEFAULT FALSE, " +
		"ADD COLUMN sla_duration_us BIGINT NULL, ADD COLUMN sla_bucket INT NULL, " +
		"DROP INDEX idx_tickets_shop_state, DROP INDEX idx_tickets_deadline_at"
	for _, ix := range indexes {
		alter += ", ADD INDEX " + ix[0] + " (" + ix[1] + ")"
	}
	m.mysql = append(m.mysql, alter)
	for _, g := range slaGrains {
		m.mysql = append(m.mysql, aggregate(g).mysqlDDL())
	}
	m.mysql = append(m.mysql, backfill("TIMESTAMPDIFF(MICROSECOND, created_at, ended_at)",
		"DATEDIFF(created_at, '1970-01-01')", "TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', created_at)")...)
	return m
}
