// Package store is the SQL read model and the ledgers of aftersales: the ticket
// projection and its audit trail, the refunds ledger with the per-order refund cap,
// and idempotency keys. One code base serves two dialects: SQLite (embedded default,
// pure Go) and MySQL/MariaDB (production). The schema is versioned (migrations.go).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/aftersales/aftersales/models"
)

// Dialect names, as returned by (*DB).Dialect.
const (
	DialectSQLite = "sqlite"
	DialectMySQL  = "mysql"
)

// DB is the store: a GORM handle on one database plus the dialect it speaks.
// It is safe for concurrent use.
type DB struct {
	gdb     *gorm.DB
	sqlDB   *sql.DB
	dialect string
}

// Open connects to the database named by url and checks that it answers. It does
// not create or upgrade the schema: call Migrate for that.
//
//   - mysql://user:pass@tcp(host:3306)/db?params: MySQL or MariaDB. parseTime=true,
//     loc=UTC, charset utf8mb4 and a UTC session time zone are forced.
//   - sqlite:PATH, sqlite://PATH or a plain file path: SQLite in WAL mode with a busy
//     timeout, foreign keys on, and one connection (SQLite has a single writer).
func Open(url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "mysql://"):
		return openMySQL(strings.TrimPrefix(url, "mysql://"))
	case strings.HasPrefix(url, "sqlite://"):
		return openSQLite(strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(strings.TrimPrefix(url, "sqlite:"))
	case strings.Contains(url, "://"):
		scheme, _, _ := strings.Cut(url, "://")
		return nil, models.Errorf(models.EINVALID,
			"database URL scheme %q is not supported: use mysql://user:pass@tcp(host:3306)/db or sqlite:PATH", scheme)
	default:
		return openSQLite(url)
	}
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Only errors reach the log: queries are the hot path and a silent
		// "record not found" is an ordinary answer here.
		Logger: logger.New(log.New(os.Stderr, "store: ", log.LstdFlags), logger.Config{
			LogLevel:                  logger.Error,
			IgnoreRecordNotFoundError: true,
		}),
		// Every multi-statement write opens its own transaction explicitly.
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, models.Errorf(models.EINVALID, "SQLite database path is empty: use sqlite:PATH, e.g. sqlite:./.aftersales/aftersales.db")
	}
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, models.Errorf(models.EUNAVAILABLE, "cannot create the directory of SQLite database %s: %v", path, err)
			}
		}
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// _txlock=immediate: a write transaction takes the write lock at BEGIN, so two
	// processes never both read-then-write and deadlock on the lock upgrade.
	dsn := path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	gdb, err := gorm.Open(sqliteDialector{dsn: dsn}, gormConfig())
	if err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "cannot open SQLite database %s: %v", path, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and a single connection makes
	// the pragmas above hold for every statement.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetConnMaxLifetime(0)
	db := &DB{gdb: gdb, sqlDB: sqlDB, dialect: DialectSQLite}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, models.Errorf(models.EUNAVAILABLE, "cannot open SQLite database %s: %v", path, err)
	}
	return db, nil
}

func openMySQL(dsn string) (*DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, models.Errorf(models.EINVALID,
			"MySQL URL is not valid (%v): use mysql://user:pass@tcp(host:3306)/db?parseTime=true", err)
	}
	if cfg.DBName == "" {
		return nil, models.Errorf(models.EINVALID, "MySQL URL names no database: use mysql://user:pass@tcp(host:3306)/db")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_bin")); err != nil {
		return nil, models.Errorf(models.EINVALID, "MySQL URL: %v", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// DATETIME columns carry no zone; a UTC session keeps NOW() and any TIMESTAMP
	// conversion consistent with what the application writes.
	cfg.Params["time_zone"] = "'+00:00'"
	where := cfg.Addr + "/" + cfg.DBName
	gdb, err := gorm.Open(gormmysql.New(gormmysql.Config{DSNConfig: cfg}), gormConfig())
	if err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "cannot connect to MySQL at %s: %v", where, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(32)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxLifetime(5 * time.Minute)
	db := &DB{gdb: gdb, sqlDB: sqlDB, dialect: DialectMySQL}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, models.Errorf(models.EUNAVAILABLE, "cannot connect to MySQL at %s: %v", where, err)
	}
	return db, nil
}

// Dialect returns DialectSQLite or DialectMySQL.
func (db *DB) Dialect() string { return db.dialect }

// Close closes the connections.
func (db *DB) Close() error { return db.sqlDB.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sqlDB.PingContext(ctx) }

// Gorm returns the underlying GORM handle, for callers that need a query this
// package does not offer. Write through the repository methods only: they keep
// the projection ordered and the ledgers consistent.
func (db *DB) Gorm() *gorm.DB { return db.gdb }

// inTx runs fn in a transaction and retries the whole transaction when the
// database aborted it for a reason that a retry cures (MySQL deadlock or lock
// wait timeout, SQLite busy). Errors returned by fn itself are returned as they are.
// The waits between attempts are random (full jitter, growing to 200 ms): the
// transactions that collided must not all come back at the same moment and
// collide again.
func (db *DB) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	const attempts = 10
	var err error
	for i := 0; i < attempts; i++ {
		err = db.gdb.WithContext(ctx).Transaction(fn)
		if err == nil || !retryable(err) {
			return err
		}
		ceiling := min(time.Duration(5<<i)*time.Millisecond, 200*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(ceiling)) + 1)):
		}
	}
	return err
}

func retryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isDuplicate reports whether err is a unique or primary key violation.
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}

// dbError wraps a database failure with what was being done. *models.Error values
// pass through untouched so their codes reach the API.
func dbError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	var ne *net.OpError
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		// The API answers 503 for this code: the request may succeed later.
		return models.Errorf(models.EUNAVAILABLE, "the database is not reachable (%s); try again shortly", fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), err)
}
