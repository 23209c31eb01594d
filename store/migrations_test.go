package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aftersales/aftersales/models"
)

func TestMigrate(t *testing.T) {
	forEachEmptyDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
			t.Fatalf("SchemaVersion of an empty database = %d, %v; want 0, nil", v, err)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if len(applied) != len(migrations) || !strings.HasPrefix(applied[0], "0001 tickets") {
			t.Fatalf("applied = %q, want every migration starting with 0001 tickets", applied)
		}
		if v, err := db.SchemaVersion(ctx); err != nil || v != LatestSchemaVersion() {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestSchemaVersion())
		}

		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Migrate = %q, %v; want nothing applied", again, err)
		}
		var rows int64
		if err := db.Gorm().Table("schema_migrations").Count(&rows).Error; err != nil || rows != int64(len(migrations)) {
			t.Fatalf("schema_migrations has %d rows (%v), want %d", rows, err, len(migrations))
		}
		var name string
		if err := db.Gorm().Raw("SELECT name FROM schema_migrations WHERE version = 1").Scan(&name).Error; err != nil || name != migrations[0].name {
			t.Fatalf("recorded name = %q (%v)", name, err)
		}

		// Every table of v1 is there and usable.
		for _, table := range []string{"tickets", "ticket_events", "refunds", "order_refund_totals", "idempotency_keys"} {
			var n int64
			if err := db.Gorm().Table(table).Count(&n).Error; err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}

		// A database migrated by a newer binary is refused, by both calls.
		if err := db.Gorm().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			999, "from the future", ts(base)).Error; err != nil {
			t.Fatal(err)
		}
		_, err = db.Migrate(ctx)
		wantCode(t, err, models.EUNAVAILABLE, "version 999, newer than this binary")
		_, err = db.SchemaVersion(ctx)
		wantCode(t, err, models.EUNAVAILABLE, "newer than this binary")
	})
}

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, tc := range []struct{ url, msg string }{
		{"postgres://u@h/db", `scheme "postgres" is not supported`},
		{"mysql://not a dsn", "MySQL URL is not valid"},
		{"mysql://u:p@tcp(127.0.0.1:3306)/", "names no database"},
		{"sqlite:", "path is empty"},
	} {
		_, err := Open(tc.url)
		wantCode(t, err, models.EINVALID, tc.msg)
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{"sqlite:" + dir + "/a.db", "sqlite://" + dir + "/b.db", dir + "/sub/c.db"} {
		db, err := Open(url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if db.Dialect() != DialectSQLite {
			t.Errorf("Dialect = %q", db.Dialect())
		}
		var mode string
		if err := db.Gorm().Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q (%v), want wal", mode, err)
		}
		var fk int
		if err := db.Gorm().Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
		}
		db.Close()
	}
}

// TestMigrateConcurrently starts several migrators at once on one database, each
// with a store of its own as separate processes would have (api and worker
// starting together): all succeed, each migration is applied exactly once, and
// the schema is whole. Both on an empty database and on an upgrade, where
// schema_migrations already exists and versions are pending: there the first
// statement a migrator runs is a read, so only a lock taken before that read
// (SQLite's write lock at BEGIN IMMEDIATE) keeps two from applying the same
// version.
func TestMigrateConcurrently(t *testing.T) {
	const migrators = 6
	run := func(t *testing.T, url string, upgrade bool) {
		dbs := make([]*DB, migrators)
		for i := range dbs {
			db, err := Open(url)
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		if upgrade {
			if err := dbs[0].Gorm().Exec(dbs[0].schemaMigrationsDDL()).Error; err != nil {
				t.Fatal(err)
			}
		}
		start := make(chan struct{})
		type result struct {
			applied []string
			err     error
		}
		results := make(chan result, migrators)
		for _, db := range dbs {
			go func() {
				<-start
				applied, err := db.Migrate(context.Background())
				results <- result{applied, err}
			}()
		}
		close(start)
		count := map[string]int{}
		for range migrators {
			r := <-results
			if r.err != nil {
				t.Errorf("Migrate: %v", r.err)
			}
			for _, name := range r.applied {
				count[name]++
			}
		}
		for _, m := range migrations {
			if count[m.label()] != 1 {
				t.Errorf("migration %s was applied %d times, want once", m.label(), count[m.label()])
			}
		}
		var rows int64
		if err := dbs[0].Gorm().Table("schema_migrations").Count(&rows).Error; err != nil || rows != int64(len(migrations)) {
			t.Errorf("schema_migrations has %d rows (%v), want %d", rows, err, len(migrations))
		}
		for _, db := range dbs {
			if v, err := db.SchemaVersion(context.Background()); err != nil || v != LatestSchemaVersion() {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, LatestSchemaVersion())
			}
		}
	}
	for _, upgrade := range []bool{false, true} {
		name := map[bool]string{false: "empty", true: "upgrade"}[upgrade]
		t.Run("sqlite/"+name, func(t *testing.T) {
			run(t, "sqlite:"+filepath.Join(t.TempDir(), "shared.db"), upgrade)
		})
		t.Run("mysql/"+name, func(t *testing.T) {
			url := os.Getenv(mysqlEnv)
			if url == "" {
				t.Skip("MySQL tests skipped: set AFTERSALES_TEST_MYSQL_DSN (.ci/run does)")
			}
			run(t, freshMySQLURL(t, url), upgrade)
		})
	}
}
