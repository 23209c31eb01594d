package deploy

// What the tests learn from the Go source and go.mod: the environment variables each
// subcommand of cmd/aftersales reads, the search attributes of workflows/names.go,
// and the versions go.mod pins.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// ---------------------------------------------------------------------------
// The environment variables each subcommand of cmd/aftersales reads, from its source.
//
// Starting at the function that `commands` maps a subcommand to, it follows calls to
// functions and methods of the package and collects
//   - the flags defined on a *flag.FlagSet (fs.StringVar(&x, "database-url", ...),
//     fs.Duration("sim-delay", ...), ...), each read from AFTERSALES_<NAME> by
//     parseFlags: --database-url <- AFTERSALES_DATABASE_URL;
//   - string literals given to os.Getenv / os.LookupEnv, directly or through a
//     helper that passes its parameter on (envOr("TEMPORAL_ADDRESS", ...)).

type cmdSource struct {
	funcs    map[string]*ast.FuncDecl     // "name" or "Type.method"
	fields   map[string]map[string]string // struct type -> field -> field's type
	commands map[string]string            // subcommand -> function name
}

var (
	binaryEnvOnce sync.Once
	binaryEnvMap  map[string]map[string]bool
	binaryEnvErr  error
)

func binaryEnv(t *testing.T) map[string]map[string]bool {
	t.Helper()
	root := repoRoot(t)
	binaryEnvOnce.Do(func() { binaryEnvMap, binaryEnvErr = parseBinaryEnv(filepath.Join(root, "cmd", "aftersales")) })
	if binaryEnvErr != nil {
		t.Fatal(binaryEnvErr)
	}
	return binaryEnvMap
}

func parseBinaryEnv(dir string) (map[string]map[string]bool, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	src := cmdSource{funcs: map[string]*ast.FuncDecl{}, fields: map[string]map[string]string{}, commands: map[string]string{}}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				src.funcs[funcKey(x)] = x
			case *ast.TypeSpec:
				if st, ok := x.Type.(*ast.StructType); ok {
					fields := map[string]string{}
					for _, fl := range st.Fields.List {
						for _, name := range fl.Names {
							fields[name.Name] = typeName(fl.Type)
						}
					}
					src.fields[x.Name.Name] = fields
				}
			}
			return true
		})
		if lit := varLiteral(f, "commands"); lit != nil {
			for _, elt := range lit.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				name, err := stringLit(kv.Key)
				if id, ok := kv.Value.(*ast.Ident); ok && err == nil {
					src.commands[name] = id.Name
				}
			}
		}
	}
	if len(src.commands) == 0 {
		return nil, fmt.Errorf("%s: no `var commands = map[string]func...{\"api\": runAPI, ...}`", dir)
	}
	out := map[string]map[string]bool{}
	for sub, fn := range src.commands {
		env := map[string]bool{}
		if err := src.collect(fn, map[string]bool{}, env); err != nil {
			return nil, fmt.Errorf("aftersales %s: %w", sub, err)
		}
		out[sub] = env
	}
	return out, nil
}

func funcKey(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return typeName(fn.Recv.List[0].Type) + "." + fn.Name.Name
}

// typeName is T for T, *T and pkg.T; "" otherwise.
func typeName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.SelectorExpr:
		return typeName(x.X) + "." + x.Sel.Name
	}
	return ""
}

// flagNameArg is, for each *flag.FlagSet method that defines a flag, the index of
// the flag's name among its arguments.
var flagNameArg = map[string]int{
	"Bool": 0, "Duration": 0, "Float64": 0, "Int": 0, "Int64": 0, "String": 0, "Uint": 0, "Uint64": 0,
	"Func": 0, "BoolFunc": 0,
	"BoolVar": 1, "DurationVar": 1, "Float64Var": 1, "IntVar": 1, "Int64Var": 1, "StringVar": 1,
	"UintVar": 1, "Uint64Var": 1, "Var": 1, "TextVar": 1,
}

// collect adds the environment variables read by function key and its callees.
func (s *cmdSource) collect(key string, seen, env map[string]bool) error {
	fn := s.funcs[key]
	if fn == nil || seen[key] || fn.Body == nil {
		return nil
	}
	seen[key] = true

	flagSets := map[string]bool{} // identifiers holding a *flag.FlagSet
	types := map[string]string{}  // identifiers of a package type: receiver, locals
	if fn.Recv != nil {
		for _, f := range fn.Recv.List {
			for _, n := range f.Names {
				types[n.Name] = typeName(f.Type)
			}
		}
	}
	for _, f := range fn.Type.Params.List {
		for _, n := range f.Names {
			if typeName(f.Type) == "flag.FlagSet" {
				flagSets[n.Name] = true
			}
			types[n.Name] = typeName(f.Type)
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ValueSpec: // var c commonFlags
			for _, name := range x.Names {
				if x.Type != nil {
					types[name.Name] = typeName(x.Type)
				}
			}
		case *ast.AssignStmt: // fs := flag.NewFlagSet(...); c := commonFlags{}
			for i, lhs := range x.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || i >= len(x.Rhs) {
					continue
				}
				rhs := x.Rhs[i]
				if u, ok := rhs.(*ast.UnaryExpr); ok {
					rhs = u.X
				}
				switch r := rhs.(type) {
				case *ast.CallExpr:
					if typeName(r.Fun) == "flag.NewFlagSet" {
						flagSets[id.Name] = true
					}
				case *ast.CompositeLit:
					types[id.Name] = typeName(r.Type)
				}
			}
		}
		return true
	})

	var err error
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || err != nil {
			return err == nil
		}
		switch f := call.Fun.(type) {
		case *ast.SelectorExpr:
			recv, _ := f.X.(*ast.Ident)
			switch {
			case recv == nil: // d.providers.registerSim(fs): a method of a field
				if typ := s.exprType(f.X, types); typ != "" {
					err = s.collect(typ+"."+f.Sel.Name, seen, env)
				}
			case flagSets[recv.Name]:
				if i, ok := flagNameArg[f.Sel.Name]; ok && i < len(call.Args) {
					name, e := stringLit(call.Args[i])
					if e != nil {
						err = fmt.Errorf("%s: flag name of %s.%s: %v (write it as a literal so this test can see it)", key, recv.Name, f.Sel.Name, e)
						return false
					}
					env["AFTERSALES_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
				}
			case recv.Name == "os" && (f.Sel.Name == "Getenv" || f.Sel.Name == "LookupEnv"):
				if name, e := stringLit(call.Args[0]); e == nil {
					env[name] = true
				}
			case types[recv.Name] != "":
				err = s.collect(types[recv.Name]+"."+f.Sel.Name, seen, env)
			}
		case *ast.Ident:
			callee := s.funcs[f.Name]
			if callee == nil {
				return true
			}
			for _, i := range envParams(callee) {
				if i < len(call.Args) {
					if name, e := stringLit(call.Args[i]); e == nil {
						env[name] = true
					}
				}
			}
			err = s.collect(f.Name, seen, env)
		}
		return err == nil
	})
	return err
}

// exprType is the package type of x, y.f or y.f.g, given the types of identifiers.
func (s *cmdSource) exprType(e ast.Expr, types map[string]string) string {
	switch x := e.(type) {
	case *ast.Ident:
		return types[x.Name]
	case *ast.SelectorExpr:
		if t := s.exprType(x.X, types); t != "" {
			return s.fields[t][x.Sel.Name]
		}
	case *ast.ParenExpr:
		return s.exprType(x.X, types)
	}
	return ""
}

// envParams are the indexes of fn's parameters that fn passes to os.Getenv or
// os.LookupEnv as they are: envOr(name, def) gives [0].
func envParams(fn *ast.FuncDecl) []int {
	index := map[string]int{}
	i := 0
	for _, f := range fn.Type.Params.List {
		for _, n := range f.Names {
			index[n.Name] = i
			i++
		}
		if len(f.Names) == 0 {
			i++
		}
	}
	var out []int
	if fn.Body == nil {
		return nil
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if name := typeName(call.Fun); name == "os.Getenv" || name == "os.LookupEnv" {
			if id, ok := call.Args[0].(*ast.Ident); ok {
				if i, ok := index[id.Name]; ok && !slices.Contains(out, i) {
					out = append(out, i)
				}
			}
		}
		return true
	})
	return out
}

// TestBinaryEnvDerivation pins the parser above on the flags that matter most, so
// that a change in how cmd/aftersales defines flags cannot make it see nothing.
func TestBinaryEnvDerivation(t *testing.T) {
	env := binaryEnv(t)
	for sub, names := range map[string][]string{
		"api":     {"AFTERSALES_DATABASE_URL", "AFTERSALES_KEYS", "AFTERSALES_COURIER_WEBHOOK_SECRET_FILE", "AFTERSALES_PAYMENT_WEBHOOK_SECRET_FILE", "AFTERSALES_HTTP", "AFTERSALES_POLICY", "AFTERSALES_MIGRATE", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"},
		"worker":  {"AFTERSALES_DATABASE_URL", "AFTERSALES_COURIER", "AFTERSALES_PAYMENT", "AFTERSALES_WEBHOOK_URL", "AFTERSALES_SIM", "AFTERSALES_SIM_DELAY", "TEMPORAL_ADDRESS"},
		"migrate": {"AFTERSALES_DATABASE_URL"},
	} {
		for _, n := range names {
			if !env[sub][n] {
				t.Errorf("aftersales %s: expected to read %s; derived %v", sub, n, sortedKeys(env[sub]))
			}
		}
	}
	if env["migrate"]["TEMPORAL_ADDRESS"] {
		t.Error("aftersales migrate: derived TEMPORAL_ADDRESS, which migrate does not read")
	}
	if env["api"]["AFTERSALES_COURIER"] {
		t.Error("aftersales api: derived AFTERSALES_COURIER, a worker-only flag")
	}
}

// ---------------------------------------------------------------------------
// Search attributes.

// codeSearchAttributes parses the SearchAttributes map of workflows/names.go.
func codeSearchAttributes(t *testing.T) map[string]enumspb.IndexedValueType {
	t.Helper()
	path := filepath.Join(repoRoot(t), "workflows", "names.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	lit := varLiteral(f, "SearchAttributes")
	if lit == nil {
		t.Fatalf("%s: no `var SearchAttributes = map[...]...{...}`", path)
	}
	out := map[string]enumspb.IndexedValueType{}
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			t.Fatalf("%s: SearchAttributes element %T", path, elt)
		}
		name, err := stringLit(kv.Key)
		if err != nil {
			t.Fatalf("%s: SearchAttributes key: %v", path, err)
		}
		sel, ok := kv.Value.(*ast.SelectorExpr)
		if !ok {
			t.Fatalf("%s: SearchAttributes[%s] is not an enumspb constant", path, name)
		}
		v, err := enumspb.IndexedValueTypeFromString(sel.Sel.Name)
		if err != nil {
			t.Fatalf("%s: SearchAttributes[%s]: %v", path, name, err)
		}
		out[name] = v
	}
	if len(out) == 0 {
		t.Fatalf("%s: SearchAttributes is empty", path)
	}
	return out
}

// varLiteral returns the composite literal that package-level var name is set to.
func varLiteral(f *ast.File, name string) *ast.CompositeLit {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name == name && i < len(vs.Values) {
					lit, _ := vs.Values[i].(*ast.CompositeLit)
					return lit
				}
			}
		}
	}
	return nil
}

func stringLit(e ast.Expr) (string, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", fmt.Errorf("%T is not a string literal", e)
	}
	return strconv.Unquote(lit.Value)
}

// ---------------------------------------------------------------------------
// go.mod.

func goModLines(t *testing.T) []string {
	return strings.Split(string(readRepoFile(t, "go.mod")), "\n")
}

// goModGo is the go line's version (1.26.8).
func goModGo(t *testing.T) string {
	t.Helper()
	for _, l := range goModLines(t) {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// goModRequire is the version go.mod requires of module path.
func goModRequire(t *testing.T, path string) string {
	t.Helper()
	for _, l := range goModLines(t) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	t.Fatalf("go.mod does not require %s", path)
	return ""
}

func majorMinor(v string) string {
	parts := strings.SplitN(strings.TrimPrefix(v, "go"), ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
