// Package layers holds the house rules of gitgate's code, read from `go
// list` and the Go syntax trees: which package may import which, which
// libraries the admission path may never reach, how deep the house is, and
// how long a function may be. Each rule fails the build on a breach, so
// the layout in docs/architecture.md stays true.
package layers

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/gitgate/gitgate"

// layers lists the house from the top down: a package may import only
// packages of a lower layer, or of its own layer within the same folder
// (one source beside another under sources/). Everything of the module
// outside hack/ and test/ must fall in a layer.
var layers = []struct {
	name     string
	packages []string // a path relative to the module; "x/..." is x and everything below it
}{
	{"main", []string{""}},
	{"cli", []string{"cli"}},
	{"server", []string{"server"}},
	{"parts", []string{"webhook", "sources/...", "drift", "dryrun", "convert", "certs"}},
	{"records", []string{"audit", "breakglass"}},
	{"core", []string{"provenance"}},
	{"compare", []string{"provenance/compare"}},
	{"internal", []string{"internal/..."}},
}

// exempt are packages that hold only tests or test helpers, and the
// project's tooling: they may import anything.
func exempt(rel string) bool {
	return strings.HasPrefix(rel, "test/") || strings.HasPrefix(rel, "hack/") ||
		rel == "charts/gitgate" || rel == "manifests" || strings.HasSuffix(rel, "test")
}

// forbiddenInCore are the libraries of sources: the admission path
// (webhook) and the core (provenance) must never depend on them, so Git,
// kustomize, Helm and Argo CD code cannot run while a request waits.
var forbiddenInCore = []string{
	"github.com/go-git/",
	"sigs.k8s.io/kustomize/",
	"github.com/fluxcd/pkg/kustomize",
	"github.com/ProtonMail/go-crypto/openpgp",
	"helm.sh/",
	"github.com/argoproj/",
}

type pkg struct {
	ImportPath string
	Dir        string
	Name       string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func load(t *testing.T) (root string, pkgs []pkg) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root = filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,Name,GoFiles,Imports,Deps", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return root, pkgs
}

func rel(importPath string) (string, bool) {
	if importPath == module {
		return "", true
	}
	r, ok := strings.CutPrefix(importPath, module+"/")
	return r, ok
}

// layerOf returns the layer index of a module package and the folder that
// groups it within its layer, or -1.
func layerOf(r string) (int, string) {
	for i, l := range layers {
		for _, p := range l.packages {
			if base, ok := strings.CutSuffix(p, "/..."); ok {
				if r == base || strings.HasPrefix(r, base+"/") {
					return i, base
				}
			} else if r == p {
				return i, p
			}
		}
	}
	return -1, ""
}

// TestImportsPointDown is rule 1 (nothing imports upward), rule 4 (no
// package imports its parent folder, test helpers aside) and the house's
// depth.
func TestImportsPointDown(t *testing.T) {
	_, pkgs := load(t)
	graph := map[string][]string{}
	for _, p := range pkgs {
		from, _ := rel(p.ImportPath)
		if exempt(from) {
			continue
		}
		fl, fgroup := layerOf(from)
		if fl < 0 {
			t.Errorf("package %q is in no layer: place it in the house (test/layers)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			graph[from] = append(graph[from], to)
			if strings.HasPrefix(from+"/", to+"/") {
				t.Errorf("%s imports its parent folder %s", p.ImportPath, imp)
			}
			tl, tgroup := layerOf(to)
			switch {
			case exempt(to):
				t.Errorf("%s imports the test helper %s", p.ImportPath, imp)
			case tl < fl:
				t.Errorf("%s (layer %s) imports %s of a higher layer (%s)", p.ImportPath, layers[fl].name, imp, layers[tl].name)
			case tl == fl && (fgroup != tgroup || (fgroup != "sources" && fgroup != "internal")):
				t.Errorf("%s imports %s beside it in layer %s: only sources/ and internal/ packages may import their siblings", p.ImportPath, imp, layers[fl].name)
			}
		}
	}
	depth, path := longest(graph)
	t.Logf("the house is %d rooms deep: %s", depth, strings.Join(path, " -> "))
	if depth > 8 {
		t.Errorf("the house is %d rooms deep, more than 8: %s", depth, strings.Join(path, " -> "))
	}
}

// longest is the longest import chain of the graph (acyclic: Go refuses
// import cycles), counted in packages.
func longest(graph map[string][]string) (int, []string) {
	memo := map[string][]string{}
	var walk func(string) []string
	walk = func(n string) []string {
		if p, ok := memo[n]; ok {
			return p
		}
		var best []string
		for _, m := range graph[n] {
			if p := walk(m); len(p) > len(best) {
				best = p
			}
		}
		name := n
		if name == "" {
			name = "main"
		}
		memo[n] = append([]string{name}, best...)
		return memo[n]
	}
	var best []string
	nodes := make([]string, 0, len(graph))
	for n := range graph {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		if p := walk(n); len(p) > len(best) {
			best = p
		}
	}
	return len(best), best
}

// TestOnlyCLIImportsCobra is rule 2: flags are the command line's
// business; server and everything below take plain values.
func TestOnlyCLIImportsCobra(t *testing.T) {
	_, pkgs := load(t)
	for _, p := range pkgs {
		r, _ := rel(p.ImportPath)
		if r == "cli" || exempt(r) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/spf13/cobra") || strings.HasPrefix(imp, "github.com/spf13/pflag") {
				t.Errorf("%s imports %s: only cli/ may", p.ImportPath, imp)
			}
		}
	}
}

// TestCoreReachesNoSourceLibrary is rule 3.
func TestCoreReachesNoSourceLibrary(t *testing.T) {
	_, pkgs := load(t)
	checked := 0
	for _, p := range pkgs {
		if p.ImportPath != module+"/webhook" && p.ImportPath != module+"/provenance" {
			continue
		}
		checked++
		for _, d := range p.Deps {
			for _, f := range forbiddenInCore {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", p.ImportPath, d)
				}
			}
		}
	}
	if checked != 2 {
		t.Fatalf("checked %d of webhook and provenance", checked)
	}
}

// TestRootHoldsMainOnly: the module's root is the entry point and nothing
// else.
func TestRootHoldsMainOnly(t *testing.T) {
	_, pkgs := load(t)
	for _, p := range pkgs {
		if p.ImportPath == module && len(p.GoFiles) > 2 {
			t.Errorf("the root holds %d Go files (%v); at most main.go and one other", len(p.GoFiles), p.GoFiles)
		}
	}
}

// TestFunctionsAreShort: no function of the product (hack/ and test/
// aside) is over 60 lines; a longer one holds two ideas.
func TestFunctionsAreShort(t *testing.T) {
	root, pkgs := load(t)
	fset := token.NewFileSet()
	for _, p := range pkgs {
		if r, _ := rel(p.ImportPath); strings.HasPrefix(r, "test/") || strings.HasPrefix(r, "hack/") {
			continue
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > 60 {
					relPath, _ := filepath.Rel(root, path)
					t.Errorf("%s: %s is %d lines, over 60", relPath, fd.Name.Name, n)
				}
			}
		}
	}
}

// owners are facts decided in one place only (rule 5): the pattern may
// match in one non-test file of the module and no other.
var owners = []struct {
	fact    string
	pattern string
	under   string // only files below this folder count; "" the whole module
}{
	{"loading the rest config", `clientcmd\.NewNonInteractiveDeferredLoadingClientConfig|clientcmd\.BuildConfigFromFlags|ctrl\.GetConfig\(`, ""},
	{"asking who gitgate is", `SelfSubjectReviews\(\)`, ""},
	{"the kustomize root's display", `\(kustomize`, ""},
	{"binding the ref flags", `"semver"`, ""},
	{"the admission response", `admission\.(Allowed|Denied|Errored|ValidationResponse)\(`, ""},
}

func TestEachFactHasOneOwner(t *testing.T) {
	root, pkgs := load(t)
	for _, o := range owners {
		re := regexp.MustCompile(o.pattern)
		var files []string
		for _, p := range pkgs {
			if r, _ := rel(p.ImportPath); exempt(r) || (o.under != "" && r != o.under && !strings.HasPrefix(r, o.under+"/")) {
				continue
			}
			for _, name := range p.GoFiles {
				path := filepath.Join(p.Dir, name)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if re.Match(stripComments(b)) {
					r, _ := filepath.Rel(root, path)
					files = append(files, r)
				}
			}
		}
		if len(files) > 1 {
			t.Errorf("%s is written in %d files: %s", o.fact, len(files), strings.Join(files, ", "))
		}
		if len(files) == 0 {
			t.Errorf("%s is written nowhere: the pattern %q is out of date", o.fact, o.pattern)
		}
	}
}

// stripComments blanks // comments, so a doc comment that names a fact
// does not count as deciding it.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if i := bytes.Index(line, []byte("//")); i >= 0 && !bytes.Contains(line[:i], []byte(`"`)) {
			line = line[:i]
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// walkedByFile are the packages whose files are rooms of their own: the
// command line, the server, and the admission handler, whose files a
// request or a command walks through in one direction.
var walkedByFile = map[string]bool{"": true, "cli": true, "server": true, "webhook": true}

// TestFilesCallOneWay counts, within a package, the calls from a file to a
// function or method of another file that run back up: the calls a walk
// of the files would have to take backwards, because two files call each
// other. In the packages walked by file at most 3 such calls are allowed
// in all; the other packages' are logged.
func TestFilesCallOneWay(t *testing.T) {
	_, pkgs := load(t)
	walked, other := 0, 0
	for _, p := range pkgs {
		r, _ := rel(p.ImportPath)
		if exempt(r) {
			continue
		}
		back := backCalls(t, p)
		for _, b := range back {
			if walkedByFile[r] {
				t.Logf("%s: %s", p.ImportPath, b)
			}
		}
		if walkedByFile[r] {
			walked += len(back)
		} else {
			other += len(back)
		}
	}
	t.Logf("calls running back up between files: %d in the packages walked by file, %d elsewhere", walked, other)
	if walked > 3 {
		t.Errorf("%d calls run back up between files of the packages walked by file, more than 3 (listed above)", walked)
	}
}

// backCalls builds the call graph of one package's files (a file points
// to the files that declare the functions and methods it calls, methods
// matched by name) and returns the edges a depth-first walk, files in
// name order, finds pointing back to a file still on its path.
func backCalls(t *testing.T, p pkg) []string {
	t.Helper()
	fset := token.NewFileSet()
	funcIn, methodIn := map[string]string{}, map[string]string{}
	files := map[string]*ast.File{}
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				if fd.Recv == nil {
					funcIn[fd.Name.Name] = name
				} else {
					methodIn[fd.Name.Name] = name
				}
			}
		}
	}
	edges := map[string][]string{}
	for name, f := range files {
		seen := map[string]bool{}
		add := func(to string, ok bool) {
			if ok && to != name && !seen[to] {
				seen[to] = true
				edges[name] = append(edges[name], to)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				if fun.Obj == nil {
					to, ok := funcIn[fun.Name]
					add(to, ok)
				}
			case *ast.SelectorExpr:
				if x, isIdent := fun.X.(*ast.Ident); !isIdent || x.Obj != nil {
					to, ok := methodIn[fun.Sel.Name]
					add(to, ok)
				}
			}
			return true
		})
		sort.Strings(edges[name])
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var back []string
	var visit func(string)
	visit = func(n string) {
		state[n] = onPath
		for _, m := range edges[n] {
			switch state[m] {
			case unseen:
				visit(m)
			case onPath:
				back = append(back, n+" -> "+m)
			}
		}
		state[n] = done
	}
	names := append([]string(nil), p.GoFiles...)
	sort.Strings(names)
	for _, n := range names {
		if state[n] == unseen {
			visit(n)
		}
	}
	return back
}
