package store

import (
	"database/sql"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/migrator"
	"gorm.io/gorm/schema"

	// modernc.org/sqlite registers the database/sql driver "sqlite". The embedded
	// Temporal server links it too, which is why this package cannot use
	// github.com/glebarez/sqlite: its own driver registers the same name and the
	// binary panics at start-up ("sql: Register called twice for driver sqlite").
	_ "modernc.org/sqlite"
)

// sqliteDialector is a minimal GORM dialector for the pure-Go modernc.org/sqlite
// driver. It supports what the repositories use (CRUD callbacks, ON CONFLICT,
// RETURNING, LIMIT, savepoints). The schema is created by the explicit DDL in
// migrations.go, so the generic Migrator it returns is not used by this package.
type sqliteDialector struct {
	dsn string
}

func (sqliteDialector) Name() string { return DialectSQLite }

func (d sqliteDialector) Initialize(db *gorm.DB) error {
	callbacks.RegisterDefaultCallbacks(db, &callbacks.Config{
		CreateClauses:        []string{"INSERT", "VALUES", "ON CONFLICT", "RETURNING"},
		UpdateClauses:        []string{"UPDATE", "SET", "FROM", "WHERE", "RETURNING"},
		DeleteClauses:        []string{"DELETE", "FROM", "WHERE", "RETURNING"},
		LastInsertIDReversed: true,
	})
	// SQLite has no row locks; every write transaction takes the database write
	// lock at BEGIN (_txlock=immediate), which serialises the ledger instead.
	db.ClauseBuilders["FOR"] = func(c clause.Clause, b clause.Builder) {
		if _, ok := c.Expression.(clause.Locking); !ok {
			c.Build(b)
		}
	}
	conn, err := sql.Open("sqlite", d.dsn)
	if err != nil {
		return err
	}
	db.ConnPool = conn
	return nil
}

func (d sqliteDialector) Migrator(db *gorm.DB) gorm.Migrator {
	return migrator.Migrator{Config: migrator.Config{DB: db, Dialector: d, CreateIndexAfterCreateTable: true}}
}

func (sqliteDialector) DataTypeOf(field *schema.Field) string {
	switch field.DataType {
	case schema.Bool:
		return "boolean"
	case schema.Int, schema.Uint:
		return "integer"
	case schema.Float:
		return "real"
	case schema.Time:
		return "datetime"
	case schema.Bytes:
		return "blob"
	case schema.String:
		return "text"
	}
	return string(field.DataType)
}

func (sqliteDialector) DefaultValueOf(field *schema.Field) clause.Expression {
	if field.AutoIncrement {
		return clause.Expr{SQL: "NULL"}
	}
	return clause.Expr{SQL: "DEFAULT"}
}

func (sqliteDialector) BindVarTo(w clause.Writer, _ *gorm.Statement, _ any) { w.WriteByte('?') }

// QuoteTo quotes each dot-separated part of an identifier with backticks, which
// SQLite accepts like MySQL does.
func (sqliteDialector) QuoteTo(w clause.Writer, s string) {
	for i, part := range strings.Split(s, ".") {
		if i > 0 {
			w.WriteByte('.')
		}
		w.WriteByte('`')
		w.WriteString(strings.ReplaceAll(part, "`", "``"))
		w.WriteByte('`')
	}
}

func (sqliteDialector) Explain(sql string, vars ...any) string {
	return logger.ExplainSQL(sql, nil, `'`, vars...)
}

func (sqliteDialector) SavePoint(tx *gorm.DB, name string) error {
	return tx.Exec("SAVEPOINT " + name).Error
}

func (sqliteDialector) RollbackTo(tx *gorm.DB, name string) error {
	return tx.Exec("ROLLBACK TO SAVEPOINT " + name).Error
}
