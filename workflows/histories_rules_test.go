package workflows

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The rules of testdata/histories.sum (histories_test.go) on made-up files:
// each rule broken once, and the moves it allows.

// oldSet is a change-id set of an earlier release, as lean-v1's histories have.
const oldSet = "lean-history=1,notify-activity=1"

func TestHistoriesManifestRules(t *testing.T) {
	a, b, c := sha([]byte("a")), sha([]byte("b")), sha([]byte("c"))
	cur := currentChangeSet()
	for _, tc := range []struct {
		name  string
		sums  []historySum
		files map[string]string
		want  string // in the problems; "" for none
	}{
		{"as recorded", []historySum{{"ticket_exchange.json", a, cur}, {"lean-v1/ticket_exchange.json", b, oldSet}},
			map[string]string{"ticket_exchange.json": a, "lean-v1/ticket_exchange.json": b}, ""},
		{"set moved into a directory of its own", []historySum{{"ticket_exchange.json", b, "-"}},
			map[string]string{"one-timer-per-state/ticket_exchange.json": b}, ""},
		{"content changed", []historySum{{"ticket_exchange.json", a, oldSet}},
			map[string]string{"ticket_exchange.json": c}, "differs from what was recorded there"},
		{"re-recorded in place", []historySum{{"ticket_exchange.json", a, cur}},
			map[string]string{"ticket_exchange.json": c}, "re-recorded without a new change id"},
		{"no line", nil,
			map[string]string{"ticket_exchange.json": a}, "has no line"},
		{"deleted", []historySum{{"ticket_exchange.json", a, cur}, {"lean-v1/ticket_exchange.json", b, oldSet}},
			map[string]string{"ticket_exchange.json": a}, "no file under testdata holds that content"},
		{"re-recorded under the same change ids", []historySum{{"ticket_exchange.json", a, oldSet}, {"lean-v1/ticket_exchange.json", b, oldSet}},
			map[string]string{"ticket_exchange.json": a, "lean-v1/ticket_exchange.json": b}, "same change ids (" + oldSet + ") with different content"},
		{"directory not replayed", []historySum{{"v9/ticket_exchange.json", a, oldSet}},
			map[string]string{"v9/ticket_exchange.json": a}, "not in historyDirs"},
		{"script not replayed", []historySum{{"ticket_gone.json", a, cur}},
			map[string]string{"ticket_gone.json": a}, "not in recordedHistories"},
		{"recorded after the change its directory precedes", []historySum{{"lean-v1/ticket_exchange.json", a, cur}},
			map[string]string{"lean-v1/ticket_exchange.json": a}, "in the Before of " + creationChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := manifestProblems(tc.sums, tc.files)
			if tc.want == "" && len(got) > 0 || tc.want != "" && !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one saying %q", got, tc.want)
			}
		})
	}
}

func TestHistoriesRecorderRefuses(t *testing.T) {
	cur := currentChangeSet()
	old, recorded, fresh := []byte("old\n"), []byte("recorded\n"), []byte("fresh\n")
	for _, tc := range []struct {
		name     string
		files    map[string][]byte // under testdata
		sums     []historySum
		want     string       // in the error; "" for none
		manifest []historySum // after, when recorded
	}{
		{"a new script", nil, nil, "",
			[]historySum{{"ticket_exchange.json", sha(fresh), cur}}},
		{"today's change ids, other content", map[string][]byte{"ticket_exchange.json": recorded},
			[]historySum{{"ticket_exchange.json", sha(recorded), cur}}, "without a new change id", nil},
		{"today's change ids, the set moved", map[string][]byte{"lean-v1/ticket_exchange.json": recorded},
			[]historySum{{"ticket_exchange.json", sha(recorded), cur}}, "without a new change id", nil},
		{"the only copy of an older set", map[string][]byte{"ticket_exchange.json": old},
			[]historySum{{"ticket_exchange.json", sha(old), oldSet}}, "not overwriting", nil},
		{"an older set moved first", map[string][]byte{"lean-v1/ticket_exchange.json": old},
			[]historySum{{"ticket_exchange.json", sha(old), oldSet}}, "",
			[]historySum{{"lean-v1/ticket_exchange.json", sha(old), oldSet}, {"ticket_exchange.json", sha(fresh), cur}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for p, b := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join("testdata", p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("testdata", p), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writeManifest(tc.sums); err != nil {
				t.Fatal(err)
			}
			err := (&recorder{}).keepHistory("ticket_exchange.json", fresh)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("keepHistory: %v, want an error saying %q", err, tc.want)
				}
				if b, _ := os.ReadFile("testdata/ticket_exchange.json"); b != nil && string(b) == string(fresh) {
					t.Error("refused, yet the file was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sums, err := readManifest()
			if err != nil || !slices.Equal(sums, tc.manifest) {
				t.Errorf("manifest %v (%v), want %v", sums, err, tc.manifest)
			}
		})
	}
}
