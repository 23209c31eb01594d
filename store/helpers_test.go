package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/aftersales/aftersales/models"
)

const mysqlEnv = "AFTERSALES_TEST_MYSQL_DSN"

// forEachDialect runs fn on a fresh, migrated database of each dialect: a new
// SQLite file in t.TempDir(), and a new MySQL database when
// AFTERSALES_TEST_MYSQL_DSN is set.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	forEachEmptyDialect(t, func(t *testing.T, db *DB) {
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		fn(t, db)
	})
}

// forEachEmptyDialect is forEachDialect without the migration.
func forEachEmptyDialect(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		db, err := Open("sqlite:" + filepath.Join(t.TempDir(), "aftersales.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("mysql", func(t *testing.T) {
		url := os.Getenv(mysqlEnv)
		if url == "" {
			t.Skip("MySQL tests skipped: set AFTERSALES_TEST_MYSQL_DSN=mysql://user:pass@tcp(127.0.0.1:3306)/db?parseTime=true to run them (.ci/run does)")
		}
		fn(t, freshMySQL(t, url))
	})
}

var (
	mysqlSeq     atomic.Int64
	mysqlSharedM sync.Mutex // serialises tests when only the named database may be used
)

// freshMySQL returns a store on a database of its own (see freshMySQLURL).
func freshMySQL(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(freshMySQLURL(t, url))
	if err != nil {
		t.Fatalf("open MySQL test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshMySQLURL returns the URL of an empty database of the test's own,
// <db>_t<pid>_<n>, dropped when the test ends. If the user may not create
// databases, it falls back to the database the DSN names, emptied first, and runs
// such tests one at a time.
func freshMySQLURL(t testing.TB, url string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(url, "mysql://"))
	if err != nil {
		t.Fatalf("%s is not a MySQL URL: %v", mysqlEnv, err)
	}
	base := cfg.DBName
	admin := cfg.Clone()
	admin.DBName = ""
	adminDB, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatalf("open MySQL: %v", err)
	}
	t.Cleanup(func() { adminDB.Close() })
	ctx := context.Background()

	name := fmt.Sprintf("%s_t%d_%d", base, os.Getpid(), mysqlSeq.Add(1))
	_, err = adminDB.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	var me *mysql.MySQLError
	switch {
	case err == nil:
		t.Cleanup(func() {
			if _, err := adminDB.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
				t.Logf("drop test database %s: %v", name, err)
			}
		})
	case errors.As(err, &me) && (me.Number == 1044 || me.Number == 1227):
		name = base
		mysqlSharedM.Lock()
		t.Cleanup(mysqlSharedM.Unlock)
		shared := cfg.Clone()
		sdb, err := sql.Open("mysql", shared.FormatDSN())
		if err != nil {
			t.Fatalf("open MySQL: %v", err)
		}
		defer sdb.Close()
		for _, table := range []string{"ticket_events", "tickets", "refunds", "order_refund_totals", "idempotency_keys", "schema_migrations"} {
			if _, err := sdb.ExecContext(ctx, "DROP TABLE IF EXISTS `"+table+"`"); err != nil {
				t.Fatalf("empty %s: %v", base, err)
			}
		}
	default:
		t.Fatalf("create test database %s (the MySQL user needs CREATE on `%s%%`, or at least all privileges on %s): %v", name, base, base, err)
	}

	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// base is a fixed instant with sub-millisecond digits, so tests see whether the
// database keeps microseconds.
var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(123456 * time.Microsecond)

// ticket returns a minimal valid ticket created at created.
func ticket(id, shop string, state models.State, created time.Time, seq int64) models.Ticket {
	return models.Ticket{
		ID: id, OrderID: "order-" + id, ShopID: shop, BuyerID: "buyer-1",
		Kind: models.KindReturnRefund, State: state, ReturnMethod: models.ReturnPickup,
		ReasonCode: models.ReasonQuality, RequestedCents: 1999, Currency: "CNY",
		PolicyVersion: "v1", Refunds: []models.Refund{},
		CreatedAt: created, UpdatedAt: created, Seq: seq,
	}
}

func event(seq int64, at time.Time, from, to models.State, note string) models.Event {
	return models.Event{Seq: seq, At: at, Actor: "buyer-1", Role: models.RoleBuyer, Action: "act",
		From: from, To: to, Note: note, RequestID: fmt.Sprintf("req-%d", seq)}
}

func mustSave(t *testing.T, db *DB, tk models.Ticket) {
	t.Helper()
	if err := db.SaveTicket(context.Background(), tk); err != nil {
		t.Fatalf("SaveTicket(%s seq %d): %v", tk.ID, tk.Seq, err)
	}
}

// wantCode fails unless err carries the models error code.
func wantCode(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	if got := models.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if msgPart != "" && !strings.Contains(models.ErrorMessage(err), msgPart) {
		t.Fatalf("error message %q does not contain %q", models.ErrorMessage(err), msgPart)
	}
}

func ptr[T any](v T) *T { return &v }
