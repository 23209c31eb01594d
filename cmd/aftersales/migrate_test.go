package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aftersales/aftersales/store"
)

// TestMigrateCommand runs `aftersales migrate` twice on SQLite (and on MySQL when
// AFTERSALES_TEST_MYSQL_DSN is set): the second run applies nothing.
func TestMigrateCommand(t *testing.T) {
	urls := []string{"sqlite:" + filepath.Join(t.TempDir(), "m.db")}
	if dsn := os.Getenv("AFTERSALES_TEST_MYSQL_DSN"); dsn != "" {
		urls = append(urls, dsn)
	}
	for _, url := range urls {
		for run := 1; run <= 2; run++ {
			if err := runMigrate(context.Background(), []string{"--database-url", url}); err != nil {
				t.Fatalf("%s run %d: %v", redact(url), run, err)
			}
		}
		db, err := store.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.SchemaVersion(context.Background())
		db.Close()
		if err != nil || v != store.LatestSchemaVersion() {
			t.Errorf("%s: schema version %d (%v), want %d", redact(url), v, err, store.LatestSchemaVersion())
		}
	}
	if err := runMigrate(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "AFTERSALES_DATABASE_URL") {
		t.Errorf("no URL: %v", err)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("mysql://user:secret@tcp(db:3306)/x"); strings.Contains(got, "secret") {
		t.Errorf("redact left the password: %s", got)
	}
}
