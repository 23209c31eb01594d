package deploy

import (
	"strings"
	"testing"
)

// TestClusterModulePinsEmbeddedTemporal: deploy/cluster builds the Temporal server
// and SQL tool it runs from its own module, which must pin the server the product
// embeds (go.mod), and the Go version of go.mod; build.sh refuses a mismatch too,
// but only when the cluster runs.
func TestClusterModulePinsEmbeddedTemporal(t *testing.T) {
	want := goModRequire(t, "go.temporal.io/server")
	mod := string(readRepoFile(t, "deploy/cluster/temporal/go.mod"))
	var pinned, goLine string
	for _, l := range strings.Split(mod, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		switch {
		case len(f) >= 2 && f[0] == "go.temporal.io/server":
			pinned = f[1]
		case len(f) == 2 && f[0] == "go":
			goLine = f[1]
		}
	}
	if pinned != want {
		t.Errorf("deploy/cluster/temporal/go.mod pins go.temporal.io/server %q, the product embeds %s: "+
			"(cd deploy/cluster/temporal && go get go.temporal.io/server@%s && go mod tidy)", pinned, want, want)
	}
	for _, l := range goModLines(t) {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "go" && f[1] != goLine {
			t.Errorf("deploy/cluster/temporal/go.mod says go %s, go.mod says go %s", goLine, f[1])
		}
	}
	for _, tool := range []string{"go.temporal.io/server/cmd/server", "go.temporal.io/server/cmd/tools/sql"} {
		if !strings.Contains(mod, tool) {
			t.Errorf("deploy/cluster/temporal/go.mod does not list the tool %s that build.sh builds", tool)
		}
	}
}
