package workflows

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The manifest of recorded histories, testdata/histories.sum, has a line for
// every history ever recorded:
//
//	<path under testdata> <sha256 of the file, hex> <change-id set>
//
// The change-id set is "id=version,..." of versionChanges (versions.go) when the
// history was recorded, sorted by id ("-" for none). TestRecordHistories writes
// the line of each history it records; a line is never removed.
//
// TestHistoriesManifest holds testdata/ to it:
//   - every history file's content is on a line, found by its hash, so a
//     release's set moved as a whole into a directory of its own still matches;
//   - every line's content is still in a file: recorded histories are never
//     changed or deleted;
//   - one script's histories recorded under one change-id set have one content:
//     two contents mean a re-recording without a new change id;
//   - every directory holding histories is replayed (historyDirs), every file
//     is a script's (recordedHistories), and a directory a change's Before
//     names holds only histories recorded before that change's Max.

const manifestPath = "testdata/histories.sum"

// historiesHowTo tells a person what to do when a recorded history would be
// changed or lost.
const historiesHowTo = `Recorded histories are never changed or deleted: tickets started on the code that recorded them may still be running.
If the workflow code changed the commands it issues (an activity, timer, child, signal or marker added, removed or reordered):
  1. guard the change with workflow.GetVersion under a new change id (or raise the maximum of an existing one) and list it in versionChanges (workflows/versions.go);
  2. move today's set into a directory of its own, e.g. git mv workflows/testdata/*.json workflows/testdata/<release>/,
     and add that directory to historyDirs (replay_test.go) and to the change's Before;
  3. record today's set: AFTERSALES_RECORD_HISTORIES=1 go test ./workflows/ -run TestRecordHistories -count=1 -v -parallel 16
     (it writes the new lines of workflows/testdata/histories.sum).
If nothing was meant to change, restore what was recorded: git checkout -- workflows/testdata
To record a new script only: AFTERSALES_RECORD_HISTORIES=1 go test ./workflows/ -run 'TestRecordHistories/record/<script>$' -count=1 -v`

// historySum is one line of the manifest.
type historySum struct {
	path string // under testdata, slash-separated, where it was recorded or moved to
	sum  string // sha256 of the content, hex
	set  string // the change-id set in force when it was recorded
}

func TestHistoriesManifest(t *testing.T) {
	sums, err := readManifest()
	if err != nil {
		t.Fatal(err)
	}
	files, err := recordedFiles()
	if err != nil {
		t.Fatal(err)
	}
	problems := manifestProblems(sums, files)
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Error(historiesHowTo)
	}
}

// manifestProblems holds the history files (path under testdata -> sha256) to
// the manifest's lines, and says what breaks a rule (historiesHowTo says what
// to do about most).
func manifestProblems(sums []historySum, files map[string]string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	lines := map[string][]historySum{} // by sum
	for _, s := range sums {
		lines[s.sum] = append(lines[s.sum], s)
	}
	paths := slices.Sorted(maps.Keys(files))
	unreplayed := map[string]bool{}
	for _, p := range paths {
		if dir := path.Dir("testdata/" + p); !slices.Contains(historyDirs, dir) && !unreplayed[dir] {
			unreplayed[dir] = true
			report("%s holds recorded histories but is not in historyDirs (replay_test.go): add it there so they are replayed, and to the Before of the change that came after them (versions.go)", dir)
		}
		if _, ok := recordedHistories[path.Base(p)]; !ok {
			report("testdata/%s is not in recordedHistories (replay_test.go), so it is not replayed", p)
		}
		if len(lines[files[p]]) > 0 {
			continue
		}
		var was []string
		for _, s := range sums {
			if s.path == p {
				was = append(was, fmt.Sprintf("sha256 %s recorded under %s", s.sum, s.set))
				if s.set == currentChangeSet() && !strings.Contains(p, "/") {
					was[len(was)-1] += ", today's change ids: re-recorded without a new change id"
				}
			}
		}
		if len(was) > 0 {
			report("testdata/%s (sha256 %s) differs from what was recorded there (%s: %s)", p, files[p], manifestPath, strings.Join(was, "; "))
		} else {
			report("testdata/%s (sha256 %s) has no line in %s: record histories with %s=1 (TestRecordHistories), which writes their lines; never add a line by hand for a history that replaced another", p, files[p], manifestPath, recordEnv)
		}
	}
	held := map[string]bool{}
	for _, sum := range files {
		held[sum] = true
	}
	for _, s := range sums {
		if !held[s.sum] {
			report("%s names testdata/%s (sha256 %s, recorded under %s), and no file under testdata holds that content any more", manifestPath, s.path, s.sum, s.set)
		}
	}
	type script struct{ name, set string }
	first := map[script]historySum{}
	for _, s := range sums {
		k := script{path.Base(s.path), s.set}
		if f, ok := first[k]; !ok {
			first[k] = s
		} else if f.sum != s.sum {
			report("testdata/%s (sha256 %s) and testdata/%s (sha256 %s) were recorded under the same change ids (%s) with different content: a history re-recorded without a new change id. Keep the one recorded first and drop the other and its line", f.path, f.sum, s.path, s.sum, s.set)
		}
	}
	for _, c := range versionChanges {
		for _, p := range paths {
			if !slices.Contains(c.Before, path.Dir("testdata/"+p)) {
				continue
			}
			for _, s := range lines[files[p]] {
				if set, _ := parseChangeSet(s.set); set[c.ID] >= c.Max {
					report("testdata/%s was recorded under %s=%d, but versions.go names its directory in the Before of %s version %d", p, c.ID, set[c.ID], c.ID, c.Max)
				}
			}
		}
	}
	return problems
}

// keepHistory writes a history the recorder took to testdata/file, with its
// line in the manifest. It refuses to change a history recorded under today's
// change-id set (a re-recording without a new change id), or to overwrite the
// only copy of one recorded under another (its set is to be moved first).
func (r *recorder) keepHistory(file string, b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sums, err := readManifest()
	files, errFiles := recordedFiles()
	if err = cmp.Or(err, errFiles); err != nil {
		return err
	}
	set, sum := currentChangeSet(), sha(b)
	for _, s := range sums {
		if path.Base(s.path) == file && s.set == set && s.sum != sum {
			return fmt.Errorf("not recording testdata/%s: testdata/%s was recorded under the same change ids (%s) with other content; recording it again would change a recorded history without a new change id", file, s.path, set)
		}
	}
	if old, ok := files[file]; ok && old != sum {
		copies := 0
		for _, h := range files {
			if h == old {
				copies++
			}
		}
		if copies == 1 && slices.ContainsFunc(sums, func(s historySum) bool { return s.sum == old }) {
			return fmt.Errorf("not overwriting testdata/%s: it holds a history recorded under other change ids, and nothing else holds it: move its set first", file)
		}
	}
	if err := os.WriteFile(filepath.Join("testdata", file), b, 0o644); err != nil {
		return err
	}
	files[file] = sum
	if !slices.Contains(sums, historySum{file, sum, set}) {
		sums = append(sums, historySum{file, sum, set})
	}
	for i, s := range sums { // follow a set moved into a directory of its own
		if files[s.path] != s.sum {
			for _, p := range slices.Sorted(maps.Keys(files)) {
				if files[p] == s.sum {
					sums[i].path = p
					break
				}
			}
		}
	}
	return writeManifest(sums)
}

// readManifest reads testdata/histories.sum; '#' starts a comment line.
func readManifest() ([]historySum, error) {
	f, err := os.Open(manifestPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var sums []historySum
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || !strings.HasSuffix(fields[0], ".json") || len(fields[1]) != sha256.Size*2 {
			return nil, fmt.Errorf("%s:%d: want <path under testdata> <sha256> <change-id set>, got %q", manifestPath, n, line)
		}
		if _, ok := parseChangeSet(fields[2]); !ok {
			return nil, fmt.Errorf("%s:%d: change-id set %q: want id=version,... or -", manifestPath, n, fields[2])
		}
		sums = append(sums, historySum{fields[0], fields[1], fields[2]})
	}
	return sums, sc.Err()
}

// writeManifest writes the manifest, its lines sorted by path and change-id set.
func writeManifest(sums []historySum) error {
	sorted := slices.Clone(sums)
	slices.SortFunc(sorted, func(a, b historySum) int {
		return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.set, b.set), strings.Compare(a.sum, b.sum))
	})
	var b strings.Builder
	b.WriteString("# Recorded workflow histories: path under testdata, sha256, change ids in force when recorded.\n")
	b.WriteString("# Written by TestRecordHistories, held by TestHistoriesManifest (workflows/histories_test.go). Never remove a line.\n")
	for _, s := range sorted {
		fmt.Fprintf(&b, "%s %s %s\n", s.path, s.sum, s.set)
	}
	return os.WriteFile(manifestPath, []byte(b.String()), 0o644)
}

// recordedFiles maps every history file under testdata (*.json, path under
// testdata) to the sha256 of its content.
func recordedFiles() (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("testdata", p)
		files[filepath.ToSlash(rel)] = sha(b)
		return err
	})
	return files, err
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
