package render

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gitgate/gitgate/internal/testgit"
	"github.com/gitgate/gitgate/provenance"
)

// treeOf commits files to an in-memory repository and returns the tree.
func treeOf(t testing.TB, files map[string]string) *object.Tree { return testgit.Tree(t, files) }

// overlayFixture is a base and an overlay using namePrefix, namespace,
// patches (strategic merge and JSON 6902) and configMapGenerator.
var overlayFixture = map[string]string{
	"base/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
`,
	"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: registry.example.com/web:1.0.0
        envFrom:
        - configMapRef:
            name: web-config
`,
	"base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`,
	"overlays/prod/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
namePrefix: prod-
resources:
- ../../base
patches:
- path: replicas.yaml
- target: {kind: Deployment, name: web}
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/image
      value: registry.example.com/web:2.0.0
configMapGenerator:
- name: web-config
  literals:
  - MODE=production
  files:
  - settings.properties
`,
	"overlays/prod/replicas.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
`,
	"overlays/prod/settings.properties": "cache=on\n",
	"plain/cm.yaml":                     configMap("plain", "1"),
}

func writeFixture(t testing.TB, files map[string]string) string {
	dir := t.TempDir()
	for p, c := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestKustomizeMatchesKrusty: what gitgate renders from the Git tree is
// exactly what kustomize builds from the same files on disk.
func TestKustomizeMatchesKrusty(t *testing.T) {
	dir := writeFixture(t, overlayFixture)
	rm, err := krusty.MakeKustomizer(KrustyOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "overlays/prod"))
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	got, built, err := renderKustomize(treeOf(t, overlayFixture), "overlays/prod", noReuse)
	if err != nil || !built {
		t.Fatalf("build: built=%v err=%v", built, err)
	}
	if got.Path != "overlays/prod" || !got.Kustomize {
		t.Errorf("path = %q, kustomize = %v; want the root overlays/prod", got.Path, got.Kustomize)
	}
	if !reflect.DeepEqual(viaJSON(t, byName(got.Objects)), viaJSON(t, byName(want))) {
		t.Errorf("gitgate rendered\n%v\nkustomize built\n%v", byName(got.Objects), byName(want))
	}
	names := strings.Join(sortedKeys(byName(got.Objects)), " ")
	if !strings.Contains(names, "Deployment prod/prod-web") || !strings.Contains(names, "ConfigMap prod/prod-web-config-") {
		t.Errorf("objects = %s; want prefixed names in namespace prod and a hashed ConfigMap", names)
	}
}

func byName(objs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		meta := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		out[o["kind"].(string)+" "+ns+"/"+meta["name"].(string)] = o
	}
	return out
}

func sortedKeys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestKustomizeRefusals(t *testing.T) {
	kust := func(body string) map[string]string {
		return map[string]string{
			"app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body,
			"app/cm.yaml":            configMap("a", "1"),
			"app/gen.yaml":           "apiVersion: example.com/v1\nkind: Exec\nmetadata:\n  name: gen\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n",
			"app/fn.yaml":            "apiVersion: example.com/v1\nkind: Fn\nmetadata:\n  name: fn\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: example.com/fn:1\n",
			"secret.txt":             "x",
		}
	}
	tests := []struct {
		name    string
		body    string
		wantErr error  // a sentinel, or nil to match text
		wantMsg string // a substring of the error
	}{
		{"remote https base", "resources:\n- https://github.com/example/repo//base?ref=v1\n", ErrRemoteBase, "resources"},
		{"remote github base", "resources:\n- github.com/example/repo/base\n", ErrRemoteBase, ""},
		{"scp-like base", "resources:\n- git@github.com:example/repo.git\n", ErrRemoteBase, ""},
		{"remote patch file", "patches:\n- path: https://example.com/patch.yaml\n", ErrRemoteBase, "patches"},
		{"escapes repository", "resources:\n- ../../outside\n", ErrEscapesRepo, ""},
		{"absolute path", "resources:\n- /etc/passwd\n", ErrEscapesRepo, ""},
		{"missing file", "resources:\n- missing.yaml\n", ErrNotInRepo, "missing.yaml"},
		{"helm", "helmCharts:\n- name: x\n  repo: https://charts.example.com\n", ErrHelm, ""},
		{"exec plugin", "generators:\n- gen.yaml\n", nil, "plugin"},
		{"function plugin", "transformers:\n- fn.yaml\n", nil, "plugin"},
		{"file outside the root", "configMapGenerator:\n- name: c\n  files:\n  - ../secret.txt\n", nil, "security"},
		{"invalid YAML", "resources: [unclosed\n", nil, "kustomization.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := renderKustomize(treeOf(t, kust(tt.body)), "app", noReuse)
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestPlanRoots(t *testing.T) {
	tree := treeOf(t, map[string]string{
		".gitgateignore":                      "# local only\nscratch/\n*.draft.yaml\n!keep.draft.yaml\n",
		"apps/a.yaml":                         configMap("a", "1"),
		"apps/b.draft.yaml":                   configMap("b", "1"),
		"apps/keep.draft.yaml":                configMap("k", "1"),
		"apps/kust/kustomization.yaml":        "resources: [cm.yaml]\n",
		"apps/kust/cm.yaml":                   configMap("k2", "1"),
		"apps/kust/nested/kustomization.yaml": "resources: []\n",
		"scratch/x.yaml":                      configMap("x", "1"),
		"infra/kustomization.yaml":            "resources: []\n",
		"README.md":                           "# repo",
	})
	skip, err := readIgnoreFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		roots     []string
		wantPlain []string
		wantKust  []string
	}{
		{"whole repository", nil, []string{"apps/a.yaml", "apps/keep.draft.yaml"}, []string{"apps/kust", "infra"}},
		{"overlapping roots count once", []string{"apps", "/apps/", "infra"}, []string{"apps/a.yaml", "apps/keep.draft.yaml"}, []string{"apps/kust", "infra"}},
		{"kustomize root", []string{"infra"}, nil, []string{"infra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := planRoots(tree, tt.roots, skip)
			if err != nil {
				t.Fatal(err)
			}
			var plain []string
			for _, f := range plan.plain {
				plain = append(plain, f.path)
			}
			if !reflect.DeepEqual(plain, tt.wantPlain) || !reflect.DeepEqual(plan.kustomize, tt.wantKust) {
				t.Errorf("plain %v kustomize %v; want %v and %v", plain, plan.kustomize, tt.wantPlain, tt.wantKust)
			}
		})
	}
	if _, err := planRoots(tree, []string{"nope"}, skip); err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("missing root: err = %v", err)
	}
}

// TestIncrementalRender: with an index's Cached as the reuse function, a
// commit re-parses only changed files and rebuilds only the kustomize roots
// whose inputs changed.
func TestIncrementalRender(t *testing.T) {
	files := map[string]string{}
	for k, v := range overlayFixture {
		files[k] = v
	}
	for i := 0; i < 20; i++ {
		files["plain/cm"+string(rune('a'+i))+".yaml"] = configMap("cm"+string(rune('a'+i)), "1")
	}
	ix := &provenance.Indexer{Scope: namespacedScope{}, DefaultNamespace: "default"}
	roots := []string{"plain", "overlays/prod"}
	render := func(files map[string]string) (*provenance.Index, Stats) {
		t.Helper()
		fs, st, err := Tree(treeOf(t, files), roots, ix.Cached)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := ix.Build(provenance.Revision{Hash: "x"}, fs)
		if err != nil {
			t.Fatal(err)
		}
		return idx, st
	}
	if _, st := render(files); st != (Stats{Files: 21, Parsed: 21, Roots: 1, Built: 1}) {
		t.Fatalf("cold render: %+v", st)
	}
	steps := []struct {
		name  string
		write map[string]string
		want  Stats
	}{
		{"one plain file", map[string]string{"plain/cma.yaml": configMap("cma", "2")}, Stats{Files: 21, Parsed: 1, Roots: 1, Built: 0}},
		{"a base file of the overlay", map[string]string{"base/service.yaml": strings.Replace(overlayFixture["base/service.yaml"], "port: 80", "port: 8080", 1)}, Stats{Files: 21, Parsed: 0, Roots: 1, Built: 1}},
		{"a file outside every root", map[string]string{"docs/readme.yaml": "x: 1\n"}, Stats{Files: 21, Parsed: 0, Roots: 1, Built: 0}},
	}
	var snap *provenance.Index
	for _, step := range steps {
		for p, c := range step.write {
			files[p] = c
		}
		var st Stats
		if snap, st = render(files); st != step.want {
			t.Errorf("%s: render %+v, want %+v", step.name, st, step.want)
		}
	}
	svc := snap.Lookup(provenance.Key{Kind: "Service", Namespace: "prod", Name: "prod-web"})
	if svc == nil {
		t.Fatal("Service prod/prod-web not indexed")
	}
	port := svc.Object()["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"]
	if port != int64(8080) && port != float64(8080) {
		t.Errorf("port = %v (%T), want 8080 from the changed base", port, port)
	}
}

func noReuse(string, string) bool { return false }

// namespacedScope knows every kind, all namespaced: the fixtures hold no
// cluster-scoped objects.
type namespacedScope struct{}

func (namespacedScope) Namespaced(schema.GroupKind) (bool, bool, error) { return true, true, nil }

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: app\ndata:\n  v: \"" + value + "\"\n"
}

// viaJSON gives numbers one type, so that YAML's int and JSON's int64
// compare equal.
func viaJSON(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Plain manifests are parsed when indexed (File.Load), except files that
// may declare a CRD: the Indexer needs every CRD before it indexes.
func TestPlainFilesReadLate(t *testing.T) {
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: [{name: v1, served: true, storage: true}]}
`
	tests := []struct {
		name     string
		content  string
		wantLazy bool
	}{
		{"a ConfigMap", configMap("a", "1"), true},
		{"a CRD", crd, false},
		{"a ConfigMap that names the word", strings.Replace(configMap("a", "1"), `"1"`, `"CustomResourceDefinition"`, 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, err := Tree(treeOf(t, map[string]string{"m.yaml": tc.content}), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 {
				t.Fatalf("%d files, want 1", len(fs))
			}
			if lazy := fs[0].Objects == nil && fs[0].Load != nil; lazy != tc.wantLazy {
				t.Errorf("read late: %v, want %v", lazy, tc.wantLazy)
			}
			// Either way the Indexer gets the same objects.
			objs := fs[0].Objects
			if objs == nil {
				if objs, err = fs[0].Load(); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := ParseManifests([]byte(tc.content))
			if !reflect.DeepEqual(objs, want) {
				t.Errorf("objects %v, want %v", objs, want)
			}
		})
	}
}
