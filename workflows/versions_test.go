package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"
)

// TestVersionChangesMatchCode parses the package's non-test Go files and holds
// versionChanges (versions.go) to the workflow.GetVersion calls they make: each
// call's change id is listed with the call's maximum version, and each listed
// id is asked for.
func TestVersionChangesMatchCode(t *testing.T) {
	calls := getVersionCalls(t)
	listed := map[string]workflow.Version{}
	for _, c := range versionChanges {
		listed[c.ID] = c.Max
	}
	asked := map[string]bool{}
	for _, c := range calls {
		asked[c.id] = true
		max, ok := listed[c.id]
		switch {
		case !ok:
			t.Errorf("%s: workflow.GetVersion(%q) is not listed in versionChanges (versions.go): list it with its Max, what it changed and the history directories recorded before it", c.pos, c.id)
		case c.max != max:
			t.Errorf("%s: workflow.GetVersion(%q) asks for version %d, versionChanges lists Max %d: raise Max and say what the new version changed", c.pos, c.id, c.max, max)
		}
	}
	for _, c := range versionChanges {
		if !asked[c.ID] {
			t.Errorf("versionChanges lists %q, which no workflow.GetVersion call asks for", c.ID)
		}
	}
	if len(calls) == 0 {
		t.Error("found no workflow.GetVersion call: is the parser looking at the right files?")
	}
}

// TestVersionChangesWellFormed: ids are unique, each version says what it
// changed, and each history directory other than testdata is named in the
// Before of a change (the one that moved it out of testdata) and is replayed.
func TestVersionChangesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	pinned := map[string]bool{}
	for _, c := range versionChanges {
		if c.ID == "" || seen[c.ID] {
			t.Errorf("versionChanges: change id %q empty or listed twice", c.ID)
		}
		seen[c.ID] = true
		if c.Max < 1 || len(c.Versions) != int(c.Max) {
			t.Errorf("%s: Max %d with %d Versions; want Max >= 1 and one sentence for each version", c.ID, c.Max, len(c.Versions))
		}
		for v, what := range c.Versions {
			if strings.TrimSpace(what) == "" {
				t.Errorf("%s: version %d does not say what it changed", c.ID, v+1)
			}
		}
		for _, dir := range c.Before {
			pinned[dir] = true
			if !slices.Contains(historyDirs, dir) || dir == "testdata" {
				t.Errorf("%s: Before names %s, which is not one of historyDirs' older releases (replay_test.go)", c.ID, dir)
			}
		}
	}
	for _, dir := range historyDirs {
		if dir != "testdata" && !pinned[dir] {
			t.Errorf("%s is replayed but named in no change's Before (versions.go): which change did its release come before?", dir)
		}
	}
}

// versionCall is one workflow.GetVersion call in the package's code.
type versionCall struct {
	pos string
	id  string
	max workflow.Version
}

// getVersionCalls finds every workflow.GetVersion call in the package's
// non-test files, resolving its change id and maximum through the package's
// constants.
func getVersionCalls(t *testing.T) []versionCall {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	consts := map[string]ast.Expr{} // the package's constants with a value of their own
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							consts[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	// literal resolves a literal or a package constant to its literal.
	literal := func(e ast.Expr, kind token.Token) (string, bool) {
		if id, ok := e.(*ast.Ident); ok && consts[id.Name] != nil {
			e = consts[id.Name]
		}
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != kind {
			return "", false
		}
		return lit.Value, true
	}
	var calls []versionCall
	for _, f := range files {
		sdk := "" // the file's name for the SDK's workflow package
		for _, imp := range f.Imports {
			if imp.Path.Value == `"go.temporal.io/sdk/workflow"` {
				sdk = "workflow"
				if imp.Name != nil {
					sdk = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "GetVersion" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != sdk {
				return true
			}
			pos := fset.Position(call.Pos()).String()
			if len(call.Args) != 4 {
				t.Errorf("%s: workflow.GetVersion with %d arguments", pos, len(call.Args))
				return true
			}
			q, okID := literal(call.Args[1], token.STRING)
			m, okMax := literal(call.Args[3], token.INT)
			id, errID := strconv.Unquote(q)
			max, errMax := strconv.Atoi(m)
			if !okID || !okMax || errID != nil || errMax != nil {
				t.Errorf("%s: workflow.GetVersion's change id and maximum must be a string and an integer constant", pos)
				return true
			}
			calls = append(calls, versionCall{pos: pos, id: id, max: workflow.Version(max)})
			return true
		})
	}
	return calls
}

// currentChangeSet is the change-id set the code records histories under:
// "id=max" for every listed change, sorted by id, comma-separated.
func currentChangeSet() string {
	var ids []string
	for _, c := range versionChanges {
		ids = append(ids, c.ID+"="+strconv.Itoa(int(c.Max)))
	}
	if len(ids) == 0 {
		return "-"
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// parseChangeSet reads a change-id set as the manifest writes it ("-" for none).
func parseChangeSet(s string) (map[string]workflow.Version, bool) {
	set := map[string]workflow.Version{}
	if s == "-" {
		return set, true
	}
	for _, kv := range strings.Split(s, ",") {
		id, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || id == "" || err != nil || n < 1 {
			return nil, false
		}
		set[id] = workflow.Version(n)
	}
	return set, true
}
