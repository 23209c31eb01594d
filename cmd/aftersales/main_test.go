package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain clears the environment the commands read their flags from
// (AFTERSALES_*, TEMPORAL_*), so a developer's shell cannot change what a test
// runs; the test's own settings (AFTERSALES_TEST_*) stay.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "AFTERSALES_") && !strings.HasPrefix(name, "AFTERSALES_TEST_")) ||
			strings.HasPrefix(name, "TEMPORAL_") {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}
