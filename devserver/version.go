package devserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/server/common/headers"
)

const (
	dbFileName      = "temporal.db"
	versionFileName = "temporal.version"
)

// serverVersion is the version of the Temporal server linked into this binary.
var serverVersion = headers.ServerVersion

// writeVersion records the embedded server version next to a newly created
// database, so a later binary with another server version can refuse it.
func writeVersion(dataDir string) error {
	path := filepath.Join(dataDir, versionFileName)
	if err := os.WriteFile(path, []byte(serverVersion+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// checkVersion verifies that the existing database in dataDir was written by
// the same server version this binary embeds. The SQLite schema is not
// migrated by the server, so running another version on it is unsafe.
func checkVersion(dataDir string) error {
	path := filepath.Join(dataDir, versionFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data dir %s holds a Temporal database but no %s (unknown server version), this binary embeds %s; use another --data-dir or remove %s",
			dataDir, versionFileName, serverVersion, dataDir)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	got := strings.TrimSpace(string(b))
	if got != serverVersion {
		return fmt.Errorf("data dir %s was written by Temporal server %s, this binary embeds %s; use another --data-dir or remove %s",
			dataDir, got, serverVersion, dataDir)
	}
	return nil
}
