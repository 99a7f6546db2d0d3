package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRecordListsEveryReason keeps the list in Record.Reason's comment in
// step with the code: every constant of type Reason in package provenance
// and in webhook/reasons.go is documented there, and nothing else.
func TestRecordListsEveryReason(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "provenance", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "webhook", "reasons.go"))
	code := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, v := range reasonConstants(t, f) {
			code[v] = true
		}
	}
	if len(code) < 15 {
		t.Fatalf("found only %d reasons in the code: %v", len(code), code)
	}
	src, err := os.ReadFile("record.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*//\s+- ([a-z-]+(?:, [a-z-]+)*):`).FindAllStringSubmatch(string(src), -1) {
		for _, r := range strings.Split(m[1], ", ") {
			documented[r] = true
		}
	}
	for r := range code {
		if !documented[r] {
			t.Errorf("reason %q is not documented in audit/record.go", r)
		}
	}
	for r := range documented {
		if !code[r] {
			t.Errorf("audit/record.go documents %q, which no code gives", r)
		}
	}
}

// reasonConstants returns the values of the constants of type Reason (or
// provenance.Reason) declared in file.
func reasonConstants(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || !isReasonType(vs.Type) {
			return true
		}
		for _, v := range vs.Values {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

func isReasonType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Reason"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Reason"
	}
	return false
}
