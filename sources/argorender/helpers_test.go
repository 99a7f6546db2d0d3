package argorender

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"sort"
	"testing"

	"github.com/gitgate/gitgate/internal/testyaml"
)

// fixtures is Argo CD's own end-to-end test data (testdata/argocd).
var fixtures fs.FS = os.DirFS("testdata/argocd")

const testRevision = "0123456789abcdef0123456789abcdef01234567"

// app decodes an Application written as YAML.
func app(t *testing.T, y string) *Application {
	t.Helper()
	a, err := DecodeApplication(testyaml.ToMap(t, y))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryRender renders a with files[i] as source i (fixtures by default).
func tryRender(a *Application, settings Settings, files ...fs.FS) (*Result, error) {
	in := Input{App: a, Settings: settings}
	for i := range a.Spec.AllSources() {
		f := fixtures
		if i < len(files) && files[i] != nil {
			f = files[i]
		}
		in.Sources = append(in.Sources, Source{Files: f, Revision: testRevision})
	}
	return Render(context.Background(), in)
}

func mustRender(t *testing.T, a *Application, files ...fs.FS) *Result {
	t.Helper()
	res, err := tryRender(a, Settings{}, files...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// summary is each object as Kind/namespace/name, sorted.
func summary(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		m, _ := o.Object["metadata"].(map[string]any)
		ns, _ := m["namespace"].(string)
		name, _ := m["name"].(string)
		kind, _ := o.Object["kind"].(string)
		out = append(out, kind+"/"+ns+"/"+name)
	}
	sort.Strings(out)
	return out
}

// field reads a nested field.
func field(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// find is the object of kind and name among objs.
func find(t *testing.T, objs []Object, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o.Object["kind"] == kind && field(o.Object, "metadata", "name") == name {
			return o.Object
		}
	}
	b, _ := json.Marshal(summary(objs))
	t.Fatalf("no %s %s among %s", kind, name, b)
	return nil
}
