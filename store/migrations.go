package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/aftersales/aftersales/models"
)

// migration is one schema version. Its DDL is written out here, not derived from the
// Go structs, so what a version creates never changes with a later binary. Versions
// are applied in order and recorded in schema_migrations.
type migration struct {
	version int
	name    string
	sqlite  []string
	mysql   []string
}

// table is one CREATE TABLE written once for both dialects. In columns, {time} is a
// timestamp column type, {text} a long text type, {false} the false literal.
type table struct {
	name    string
	columns string
	indexes [][2]string // name, columns
}

// mysqlTable is appended to every MySQL CREATE TABLE. utf8mb4_bin makes string
// comparison and ORDER BY byte-wise, like SQLite, so cursors page the same way
// on both dialects.
const mysqlTable = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

// sqliteDDL renders t as a CREATE TABLE and its CREATE INDEX statements.
func (t table) sqliteDDL() []string {
	cols := strings.NewReplacer("{time}", "DATETIME", "{text}", "TEXT", "{false}", "0").Replace(t.columns)
	out := []string{"CREATE TABLE " + t.name + " (" + cols + ")"}
	for _, ix := range t.indexes {
		out = append(out, "CREATE INDEX "+ix[0]+" ON "+t.name+" ("+ix[1]+")")
	}
	return out
}

// mysqlDDL renders t as one re-runnable statement with its indexes inline: MySQL
// commits each DDL statement by itself, so a migration interrupted half-way is
// completed by the next run.
func (t table) mysqlDDL() string {
	cols := strings.NewReplacer("{time}", "DATETIME(6)", "{text}", "LONGTEXT", "{false}", "FALSE").Replace(t.columns)
	for _, ix := range t.indexes {
		cols += ",\n\t\t\tINDEX " + ix[0] + " (" + ix[1] + ")"
	}
	return "CREATE TABLE IF NOT EXISTS " + t.name + " (" + cols + ")" + mysqlTable
}

// tablesMigration renders a migration that creates tables on both dialects.
func tablesMigration(version int, name string, tables ...table) migration {
	m := migration{version: version, name: name}
	for _, t := range tables {
		m.sqlite = append(m.sqlite, t.sqliteDDL()...)
		m.mysql = append(m.mysql, t.mysqlDDL())
	}
	return m
}

// migrations lists every schema version in order. Append only: never edit a
// version that has shipped.
var migrations = []migration{
	tablesMigration(1, "tickets, ticket_events, refunds, order_refund_totals, idempotency_keys",
		table{name: "tickets", columns: `
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			order_id VARCHAR(128) NOT NULL,
			shop_id VARCHAR(128) NOT NULL,
			buyer_id VARCHAR(128) NOT NULL,
			kind VARCHAR(32) NOT NULL,
			state VARCHAR(32) NOT NULL,
			outcome VARCHAR(32) NOT NULL DEFAULT '',
			return_method VARCHAR(32) NOT NULL DEFAULT '',
			reason_code VARCHAR(32) NOT NULL DEFAULT '',
			requested_cents BIGINT NOT NULL DEFAULT 0,
			refunded_cents BIGINT NOT NULL DEFAULT 0,
			currency VARCHAR(8) NOT NULL DEFAULT '',
			deadline_name VARCHAR(64) NOT NULL DEFAULT '',
			deadline_at {time} NULL,
			escalated BOOLEAN NOT NULL DEFAULT {false},
			excluded_from_assessment BOOLEAN NOT NULL DEFAULT {false},
			fast_reviewed BOOLEAN NOT NULL DEFAULT {false},
			lightning_refund BOOLEAN NOT NULL DEFAULT {false},
			seller_breach BOOLEAN NOT NULL DEFAULT {false},
			reply_late BOOLEAN NOT NULL DEFAULT {false},
			auto_acted BOOLEAN NOT NULL DEFAULT {false},
			policy_version VARCHAR(64) NOT NULL DEFAULT '',
			first_reply_at {time} NULL,
			evaluation_score INTEGER NULL,
			seq BIGINT NOT NULL,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			ended_at {time} NULL,
			` + "`view`" + ` {text} NOT NULL`,
			indexes: [][2]string{{"idx_tickets_shop_state", "shop_id, state"}, {"idx_tickets_deadline_at", "deadline_at"},
				{"idx_tickets_order_id", "order_id"}, {"idx_tickets_created_at_id", "created_at, id"}}},
		table{name: "ticket_events", columns: `
			ticket_id VARCHAR(64) NOT NULL,
			seq BIGINT NOT NULL,
			at {time} NOT NULL,
			actor VARCHAR(128) NOT NULL DEFAULT '',
			role VARCHAR(16) NOT NULL DEFAULT '',
			action VARCHAR(64) NOT NULL DEFAULT '',
			from_state VARCHAR(32) NOT NULL DEFAULT '',
			to_state VARCHAR(32) NOT NULL DEFAULT '',
			note TEXT NOT NULL,
			request_id VARCHAR(128) NOT NULL DEFAULT '',
			PRIMARY KEY (ticket_id, seq),
			CONSTRAINT fk_ticket_events_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE`},
		table{name: "refunds", columns: `
			refund_key VARCHAR(128) NOT NULL PRIMARY KEY,
			ticket_id VARCHAR(64) NOT NULL DEFAULT '',
			order_id VARCHAR(128) NOT NULL,
			amount_cents BIGINT NOT NULL,
			currency VARCHAR(8) NOT NULL DEFAULT '',
			purpose VARCHAR(32) NOT NULL,
			status VARCHAR(16) NOT NULL,
			provider_ref VARCHAR(255) NOT NULL DEFAULT '',
			attempts INTEGER NOT NULL DEFAULT 0,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL`,
			indexes: [][2]string{{"idx_refunds_ticket_id", "ticket_id"}, {"idx_refunds_order_id", "order_id"}}},
		table{name: "order_refund_totals", columns: `
			order_id VARCHAR(128) NOT NULL PRIMARY KEY,
			paid_cents BIGINT NOT NULL,
			reserved_cents BIGINT NOT NULL DEFAULT 0`},
		table{name: "idempotency_keys", columns: `
			scope VARCHAR(160) NOT NULL,
			idem_key VARCHAR(255) NOT NULL,
			body_hash VARCHAR(128) NOT NULL,
			ticket_id VARCHAR(64) NOT NULL,
			created_at {time} NOT NULL,
			PRIMARY KEY (scope, idem_key)`},
	),
	tablesMigration(2, "webhook_events, idempotent_requests",
		table{name: "webhook_events", columns: `
			provider VARCHAR(16) NOT NULL,
			event_id VARCHAR(64) NOT NULL,
			body_hash VARCHAR(64) NOT NULL,
			delivered BOOLEAN NOT NULL DEFAULT {false},
			received_at {time} NOT NULL,
			PRIMARY KEY (provider, event_id)`},
		table{name: "idempotent_requests", columns: `
			principal VARCHAR(160) NOT NULL,
			idem_key VARCHAR(255) NOT NULL,
			request_hash VARCHAR(64) NOT NULL,
			ticket_id VARCHAR(64) NOT NULL DEFAULT '',
			status INTEGER NOT NULL DEFAULT 0,
			content_type VARCHAR(128) NOT NULL DEFAULT '',
			response {text} NOT NULL,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			PRIMARY KEY (principal, idem_key)`,
			indexes: [][2]string{{"idx_idempotent_requests_created_at", "created_at"}}},
	),
	tablesMigration(3, "orders, buyers",
		table{name: "orders", columns: `
			order_id VARCHAR(64) NOT NULL PRIMARY KEY,
			shop_id VARCHAR(64) NOT NULL,
			buyer_id VARCHAR(64) NOT NULL,
			paid_cents BIGINT NOT NULL,
			currency VARCHAR(8) NOT NULL,
			paid_at {time} NOT NULL,
			shipped_at {time} NULL,
			delivered_at {time} NULL,
			freight_insurance BOOLEAN NOT NULL DEFAULT {false},
			self_operated BOOLEAN NOT NULL DEFAULT {false},
			items {text} NOT NULL,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL`,
			indexes: [][2]string{{"idx_orders_shop_id", "shop_id"}, {"idx_orders_buyer_id", "buyer_id"}}},
		table{name: "buyers", columns: `
			buyer_id VARCHAR(64) NOT NULL PRIMARY KEY,
			credit INTEGER NOT NULL DEFAULT 0,
			flagged BOOLEAN NOT NULL DEFAULT {false},
			note {text} NOT NULL,
			updated_at {time} NOT NULL`},
	),
	{version: 4, name: "refunds.order_over_cents",
		sqlite: []string{"ALTER TABLE refunds ADD COLUMN order_over_cents BIGINT NOT NULL DEFAULT 0"},
		mysql:  []string{"ALTER TABLE refunds ADD COLUMN order_over_cents BIGINT NOT NULL DEFAULT 0"}},
	tablesMigration(5, "parcel_subscriptions",
		table{name: "parcel_subscriptions", columns: `
			carrier VARCHAR(64) NOT NULL,
			tracking_no VARCHAR(128) NOT NULL,
			workflow_id VARCHAR(160) NOT NULL,
			created_at {time} NOT NULL,
			PRIMARY KEY (carrier, tracking_no)`},
	),
	// The verified body of each webhook event, kept so an event recorded and not
	// delivered (the API stopped between the record and the signal) is delivered
	// later by the relay; NULL for events received before.
	{version: 6, name: "webhook_events.body",
		sqlite: []string{"ALTER TABLE webhook_events ADD COLUMN body TEXT",
			"CREATE INDEX idx_webhook_events_pending ON webhook_events (delivered, received_at)"},
		mysql: []string{"ALTER TABLE webhook_events ADD COLUMN body LONGTEXT NULL, ADD INDEX idx_webhook_events_pending (delivered, received_at)"}},
	// Versions 7 to 10 key orders by (shop, order id), so two shops may number
	// their orders alike (DESIGN §2 Trust): the record, the refund cap and every
	// ledger entry name the shop. On MySQL, where DDL commits by itself, each
	// version is one statement (or, for 10, statements that can run again); as
	// with versions 4 and 6, one that adds a column and stops before its version
	// is recorded is finished by hand (the column is there: record the version).
	{version: 7, name: "orders keyed by (shop_id, order_id)",
		sqlite: append(table{name: "orders_by_shop", columns: `
			shop_id VARCHAR(64) NOT NULL,
			order_id VARCHAR(64) NOT NULL,
			buyer_id VARCHAR(64) NOT NULL,
			paid_cents BIGINT NOT NULL,
			currency VARCHAR(8) NOT NULL,
			paid_at {time} NOT NULL,
			shipped_at {time} NULL,
			delivered_at {time} NULL,
			freight_insurance BOOLEAN NOT NULL DEFAULT {false},
			self_operated BOOLEAN NOT NULL DEFAULT {false},
			items {text} NOT NULL,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			PRIMARY KEY (shop_id, order_id)`}.sqliteDDL(),
			"INSERT INTO orders_by_shop ("+orderColumns+") SELECT "+orderColumns+" FROM orders",
			"DROP TABLE orders",
			"ALTER TABLE orders_by_shop RENAME TO orders",
			"CREATE INDEX idx_orders_buyer_id ON orders (buyer_id)"),
		mysql: []string{"ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (shop_id, order_id)"}},
	// A ledger entry's ticket is a ticket id or a shipping watch's workflow id,
	// which names the shop and the order (up to 144 characters); its key names
	// them too for a compensation (up to 255).
	{version: 8, name: "refunds.shop_id",
		sqlite: []string{"ALTER TABLE refunds ADD COLUMN shop_id VARCHAR(64) NOT NULL DEFAULT ''",
			"CREATE INDEX idx_refunds_shop_order ON refunds (shop_id, order_id)"},
		mysql: []string{"ALTER TABLE refunds ADD COLUMN shop_id VARCHAR(64) NOT NULL DEFAULT '', " +
			"MODIFY COLUMN refund_key VARCHAR(255) NOT NULL, MODIFY COLUMN ticket_id VARCHAR(160) NOT NULL DEFAULT '', " +
			"ADD INDEX idx_refunds_shop_order (shop_id, order_id)"}},
	{version: 9, name: "order_refund_totals keyed by (shop_id, order_id)",
		sqlite: append(table{name: "order_totals_by_shop", columns: `
			shop_id VARCHAR(64) NOT NULL DEFAULT '',
			order_id VARCHAR(128) NOT NULL,
			paid_cents BIGINT NOT NULL,
			reserved_cents BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (shop_id, order_id)`}.sqliteDDL(),
			"INSERT INTO order_totals_by_shop (order_id, paid_cents, reserved_cents) SELECT order_id, paid_cents, reserved_cents FROM order_refund_totals",
			"DROP TABLE order_refund_totals",
			"ALTER TABLE order_totals_by_shop RENAME TO order_refund_totals"),
		mysql: []string{"ALTER TABLE order_refund_totals ADD COLUMN shop_id VARCHAR(64) NOT NULL DEFAULT '' FIRST, " +
			"DROP PRIMARY KEY, ADD PRIMARY KEY (shop_id, order_id)"}},
	// Entries and caps written before version 8 get their shop: an order id was
	// then one shop's, so its tickets (or its record, for a watch's compensation)
	// name it.
	{version: 10, name: "refunds and order_refund_totals name their shop",
		sqlite: shopBackfill, mysql: shopBackfill},
	// The units of an order's lines each ticket holds (DESIGN §2 Lines and
	// eligibility), written under the order's lock before the ticket starts.
	tablesMigration(11, "line_holds",
		table{name: "line_holds", columns: `
			ticket_id VARCHAR(64) NOT NULL,
			sku VARCHAR(64) NOT NULL,
			shop_id VARCHAR(64) NOT NULL,
			order_id VARCHAR(64) NOT NULL,
			qty INTEGER NOT NULL,
			created_at {time} NOT NULL,
			PRIMARY KEY (ticket_id, sku)`,
			indexes: [][2]string{{"idx_line_holds_order", "shop_id, order_id"}}},
	),
	// Derived ticket columns, the per-shop-per-day SLA aggregate and the indexes
	// of lists, warnings and reports, back-filled (migration_sla.go).
	slaMigration(12),
	// RMA numbers (DESIGN §2): each shop's counter, the number each ticket was
	// given (so a retried create gets its own again), and the tickets' column the
	// list filters on. The tables first: on MySQL they can be created again.
	{version: 13, name: "rma_counters, ticket_rmas, tickets.rma",
		sqlite: append(append(rmaTables.sqliteDDL(), rmaNumbers.sqliteDDL()...),
			"ALTER TABLE tickets ADD COLUMN rma VARCHAR(80) NOT NULL DEFAULT ''",
			"CREATE INDEX idx_tickets_rma ON tickets (rma)"),
		mysql: []string{rmaTables.mysqlDDL(), rmaNumbers.mysqlDDL(),
			"ALTER TABLE tickets ADD COLUMN rma VARCHAR(80) NOT NULL DEFAULT '', ADD INDEX idx_tickets_rma (rma)"}},
	// The order lines each ledger entry pays or charges back (DESIGN §2: an
	// order's refunded amount is known per line); entries before it have none.
	{version: 14, name: "refunds.line_cents",
		sqlite: []string{"ALTER TABLE refunds ADD COLUMN line_cents TEXT NOT NULL DEFAULT ''"},
		mysql:  []string{"ALTER TABLE refunds ADD COLUMN line_cents TEXT NOT NULL DEFAULT ('')"}},
}

// The tables of version 13.
var (
	rmaTables = table{name: "rma_counters", columns: `
			shop_id VARCHAR(64) NOT NULL PRIMARY KEY,
			last BIGINT NOT NULL`}
	rmaNumbers = table{name: "ticket_rmas", columns: `
			ticket_id VARCHAR(64) NOT NULL PRIMARY KEY,
			shop_id VARCHAR(64) NOT NULL,
			seq BIGINT NOT NULL,
			rma VARCHAR(80) NOT NULL,
			UNIQUE (shop_id, seq)`}
)

// orderColumns are the columns of the orders table, as versions 3 and 7 create them.
const orderColumns = "shop_id, order_id, buyer_id, paid_cents, currency, paid_at, shipped_at, delivered_at, " +
	"freight_insurance, self_operated, items, created_at, updated_at"

// shopBackfill names the shop of the ledger's entries and caps written before
// orders were keyed by shop. Both statements only fill empty shops, so they can
// run again.
var shopBackfill = []string{
	`UPDATE refunds SET shop_id = COALESCE(
		(SELECT MIN(t.shop_id) FROM tickets t WHERE t.id = refunds.ticket_id),
		(SELECT MIN(o.shop_id) FROM orders o WHERE o.order_id = refunds.order_id), '')
	WHERE shop_id = ''`,
	`UPDATE order_refund_totals SET shop_id = COALESCE(
		(SELECT MIN(t.shop_id) FROM tickets t WHERE t.order_id = order_refund_totals.order_id),
		(SELECT MIN(o.shop_id) FROM orders o WHERE o.order_id = order_refund_totals.order_id), '')
	WHERE shop_id = ''`,
}

// LatestSchemaVersion is the schema version this binary creates and understands.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }

// migrateLock names the MySQL advisory lock that keeps two processes (api and
// worker starting together) from migrating one database at the same time. Named
// locks are server-wide, so the name carries the database: migrations of other
// databases on the same server do not queue behind it. A hash keeps it within
// MySQL's 64-character limit on lock names.
const migrateLock = "CONCAT('aftersales.migrate.', SHA1(DATABASE()))"

// sqlRunner is what a migration runs its statements on: a connection (MySQL, where
// DDL commits by itself) or a transaction (SQLite, where DDL is transactional).
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Migrate applies the pending migrations in order and returns the names of those
// it applied ("0001 tickets, ..."); nothing when the schema is current. A
// database recording a version this binary does not know (written by a newer
// release) is refused with an error that says so, and nothing is changed.
//
// Several processes may migrate one database at once (api and worker starting
// together): the check and the apply happen under one lock that spans processes,
// so exactly one applies each migration and the others wait, then find the schema
// current. On MySQL that lock is a named lock; on SQLite it is the database write
// lock, taken at BEGIN (the store opens SQLite with _txlock=immediate) before the
// schema version is read, and held until every pending migration has committed.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	return db.migrateThrough(ctx, LatestSchemaVersion())
}

// migrateThrough is Migrate that stops after version last: an older binary's
// schema, for the tests of an upgrade.
func (db *DB) migrateThrough(ctx context.Context, last int) (applied []string, err error) {
	conn, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return nil, dbError(err, "migrate: connect")
	}
	defer conn.Close()

	if db.dialect == DialectSQLite {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, dbError(err, "migrate: take the database write lock")
		}
		defer tx.Rollback()
		applied, err := db.migrate(ctx, tx, last)
		if err != nil {
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, dbError(err, "migrate: commit")
		}
		return applied, nil
	}

	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+migrateLock+", 60)").Scan(&got); err != nil {
		return nil, dbError(err, "migrate: take the migration lock")
	}
	if !got.Valid || got.Int64 != 1 {
		return nil, models.Errorf(models.EUNAVAILABLE, "another process has been migrating the schema for over 60s; try again when it is done")
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK("+migrateLock+")")
	return db.migrate(ctx, conn, last)
}

// migrate reads the applied versions and applies the rest through version last,
// on a runner that holds the migration lock.
func (db *DB) migrate(ctx context.Context, r sqlRunner, last int) (applied []string, err error) {
	if _, err := r.ExecContext(ctx, db.schemaMigrationsDDL()); err != nil {
		return nil, dbError(err, "migrate: create schema_migrations")
	}
	done, err := appliedVersions(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := checkKnown(done); err != nil {
		return nil, err
	}
	for _, m := range migrations {
		if done[m.version] || m.version > last {
			continue
		}
		if err := db.apply(ctx, r, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.label())
	}
	return applied, nil
}

// schemaMigrationsDDL creates the table that records the applied versions.
func (db *DB) schemaMigrationsDDL() string {
	if db.dialect == DialectMySQL {
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INT NOT NULL PRIMARY KEY,
			name VARCHAR(255) NOT NULL,
			applied_at DATETIME(6) NOT NULL
		)` + mysqlTable
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name VARCHAR(255) NOT NULL,
		applied_at DATETIME NOT NULL
	)`
}

func (m migration) label() string { return fmt.Sprintf("%04d %s", m.version, m.name) }

// apply runs one migration's statements and records it. On SQLite r is the
// migration transaction, so the migration and its record commit together.
func (db *DB) apply(ctx context.Context, r sqlRunner, m migration) error {
	stmts := m.sqlite
	if db.dialect == DialectMySQL {
		stmts = m.mysql
	}
	for _, s := range stmts {
		if _, err := r.ExecContext(ctx, s); err != nil {
			return dbError(err, "migration %s", m.label())
		}
	}
	_, err := r.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, dbNow())
	return dbError(err, "migration %s: record", m.label())
}

func appliedVersions(ctx context.Context, r sqlRunner) (map[int]bool, error) {
	rows, err := r.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, dbError(err, "read schema_migrations")
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, dbError(err, "read schema_migrations")
		}
		done[v] = true
	}
	return done, dbError(rows.Err(), "read schema_migrations")
}

func checkKnown(done map[int]bool) error {
	known := map[int]bool{}
	for _, m := range migrations {
		known[m.version] = true
	}
	for v := range done {
		if !known[v] {
			return models.Errorf(models.EUNAVAILABLE,
				"the database schema has version %d, newer than this binary knows (up to %d): run a release of aftersales at least as new as the one that migrated it",
				v, LatestSchemaVersion())
		}
	}
	return nil
}

// SchemaVersion returns the highest applied schema version, 0 for an empty
// database. It fails when the database records a version this binary does not
// know, so a process refuses to serve from a schema it cannot read.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	conn, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return 0, dbError(err, "schema version: connect")
	}
	defer conn.Close()
	var exists int
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if db.dialect == DialectMySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'"
	}
	if err := conn.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return 0, dbError(err, "schema version")
	}
	if exists == 0 {
		return 0, nil
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return 0, err
	}
	if err := checkKnown(done); err != nil {
		return 0, err
	}
	max := 0
	for v := range done {
		if v > max {
			max = v
		}
	}
	return max, nil
}
