package argorender

import (
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/gitgate/gitgate/provenance"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func cm(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n"
}

// TestDirectoryRules: recursion, include and exclude globs, extensions,
// the skip marker, unrelated YAML, a JSON file.
func TestDirectoryRules(t *testing.T) {
	files := fstest.MapFS{
		"d/a.yaml":         file(cm("a")),
		"d/b.yml":          file(cm("b") + "---\n" + cm("b2")),
		"d/c.json":         file(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`),
		"d/notes.txt":      file(cm("txt")),
		"d/values.yaml":    file("replicas: 3\n"),
		"d/skip.yaml":      file("# +argocd:skip-file-rendering\n" + cm("skipped")),
		"d/sub/deep.yaml":  file(cm("deep")),
		"d/sub/other.yaml": file(cm("other")),
	}
	for _, c := range []struct {
		name, directory string
		want            []string
	}{
		{name: "top only", directory: "", want: []string{"ConfigMap/ns/a", "ConfigMap/ns/b", "ConfigMap/ns/b2", "ConfigMap/ns/c"}},
		{name: "recurse", directory: "{recurse: true}", want: []string{"ConfigMap/ns/a", "ConfigMap/ns/b", "ConfigMap/ns/b2", "ConfigMap/ns/c", "ConfigMap/ns/deep", "ConfigMap/ns/other"}},
		{name: "include crosses folders", directory: "{recurse: true, include: '*deep*'}", want: []string{"ConfigMap/ns/deep"}},
		{name: "exclude", directory: "{recurse: true, exclude: '{sub/*,c.json}'}", want: []string{"ConfigMap/ns/a", "ConfigMap/ns/b", "ConfigMap/ns/b2"}},
		{name: "no extension filter", directory: "{disableExtensionFilter: true, include: '*.txt'}", want: []string{"ConfigMap/ns/txt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "  source: {repoURL: r, path: d"
			if c.directory != "" {
				src += ", directory: " + c.directory
			}
			res := mustRender(t, app(t, appYAML("x", "ns", src+"}\n")), files)
			if got := summary(res.Objects); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	bad := fstest.MapFS{"d/bad.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n")}
	if _, err := tryRender(app(t, appYAML("x", "ns", "  source: {repoURL: r, path: d}\n")), Settings{}, bad); err == nil {
		t.Error("a broken manifest rendered")
	}
}

// TestJsonnetVariables: extVars and TLAs, expanded from the build
// environment, libs relative to the root, and no import from outside.
func TestJsonnetVariables(t *testing.T) {
	files := fstest.MapFS{
		"j/main.jsonnet":     file(`local lib = import 'lib.libsonnet'; function(tla) { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: tla }, data: { ext: std.extVar('e'), lib: lib.v } }`),
		"libs/lib.libsonnet": file(`{ v: 'from-lib' }`),
		"evil/main.jsonnet":  file(`import '/etc/hostname'`),
	}
	src := "  source: {repoURL: r, path: j, directory: {jsonnet: {libs: [libs], tlas: [{name: tla, value: cm-$ARGOCD_APP_NAME}], extVars: [{name: e, value: '1+1', code: true}]}}}\n"
	res := mustRender(t, app(t, appYAML("jn", "ns", src)), files)
	got := find(t, res.Objects, "ConfigMap", "cm-jn")
	if want := map[string]any{"ext": int64(2), "lib": "from-lib"}; !reflect.DeepEqual(got["data"], want) {
		t.Errorf("data %v, want %v", got["data"], want)
	}
	if _, err := tryRender(app(t, appYAML("jn", "ns", "  source: {repoURL: r, path: evil}\n")), Settings{}, files); err == nil {
		t.Error("an import from outside the repository evaluated")
	}
}

// TestSourceOverrides: .argocd-source.yaml, then
// .argocd-source-<app>.yaml, override the source's helm or kustomize
// section, never its path.
func TestSourceOverrides(t *testing.T) {
	files := fstest.MapFS{
		"k/kustomization.yaml":           file("resources: [cm.yaml]\n"),
		"k/cm.yaml":                      file(cm("cm")),
		"k/.argocd-source.yaml":          file("kustomize: {namePrefix: all-}\npath: elsewhere\n"),
		"k/.argocd-source-mine.yaml":     file("kustomize: {nameSuffix: -mine}\n"),
		"k/.argocd-source-argocd_x.yaml": file("kustomize: {nameSuffix: -wrong}\n"),
	}
	res := mustRender(t, app(t, appYAML("mine", "ns", "  source: {repoURL: r, path: k}\n")), files)
	if got := summary(res.Objects); !reflect.DeepEqual(got, []string{"ConfigMap/ns/all-cm-mine"}) {
		t.Errorf("got %v", got)
	}
}

// TestMultipleSourcesRefValues: a Helm source reads a value file of the
// source with ref values; a ref-only source renders nothing.
func TestMultipleSourcesRefValues(t *testing.T) {
	values := fstest.MapFS{"env/prod.yaml": file("foo: from-ref\n")}
	a := app(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: multi, namespace: argocd}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: ns}
  sources:
  - {repoURL: r, path: helm-values, helm: {valueFiles: [$values/env/prod.yaml]}}
  - {repoURL: v, ref: values}
`)
	res := mustRender(t, a, nil, values)
	if got := field(find(t, res.Objects, "ConfigMap", "my-map"), "data", "foo"); got != "from-ref" {
		t.Errorf("foo = %v, want from-ref", got)
	}
	if len(res.Objects) != 1 {
		t.Errorf("objects %v", summary(res.Objects))
	}
}

// TestManagedNamespaceAndIgnores: CreateNamespace=true with
// managedNamespaceMetadata declares the namespace (not without it);
// ignoreDifferences' JSON pointers and field managers become rules, glob
// kinds resolved; jq and an empty manager name only warn.
func TestManagedNamespaceAndIgnores(t *testing.T) {
	files := fstest.MapFS{"d/a.yaml": file(cm("a"))}
	a := app(t, `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: m, namespace: argocd}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  source: {repoURL: r, path: d}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata: {labels: {team: shop}}
  ignoreDifferences:
  - {kind: '*', jsonPointers: [/data/x]}
  - {group: apps, kind: Deployment, jqPathExpressions: [.spec.replicas], managedFieldsManagers: [hpa]}
  - {group: '*', kind: Config*, name: a, managedFieldsManagers: [some-operator, ""]}
  - {kind: Secret, managedFieldsManagers: [""]}
`)
	res := mustRender(t, a, files)
	ns := find(t, res.Objects, "Namespace", "shop")
	if field(ns, "metadata", "labels", "team") != "shop" || field(ns, "metadata", "annotations", annotationSyncOptions) != "ServerSideApply=true" {
		t.Errorf("managed namespace %v", ns)
	}
	want := []provenance.IgnoreRule{{Kind: "ConfigMap", JSONPointers: []string{"/data/x"}}, {Kind: "Namespace", JSONPointers: []string{"/data/x"}},
		{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa"}},
		{Kind: "ConfigMap", Name: "a", ManagedFieldsManagers: []string{"some-operator"}}}
	if !reflect.DeepEqual(res.Ignore, want) {
		t.Errorf("ignore %+v, want %+v", res.Ignore, want)
	}
	if len(res.Warnings) != 3 {
		t.Errorf("warnings %q, want jq and two empty managers", res.Warnings)
	}
	a.Spec.SyncPolicy.ManagedNamespaceMetadata = nil
	if got := summary(mustRender(t, a, files).Objects); !reflect.DeepEqual(got, []string{"ConfigMap/shop/a"}) {
		t.Errorf("without metadata: %v", got)
	}
}

// TestHooks: Argo CD and Helm hooks apart; Skip and hooks of no known
// type (a Helm test) are never applied; crd-install is no hook.
func TestHooks(t *testing.T) {
	hook := func(name, ann string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", annotations: {" + ann + "}}\n---\n"
	}
	files := fstest.MapFS{"d/a.yaml": file(hook("presync", "argocd.argoproj.io/hook: PreSync") +
		hook("skip", "argocd.argoproj.io/hook: Skip") +
		hook("helmtest", "helm.sh/hook: test") +
		hook("helmpre", "helm.sh/hook: pre-install") +
		hook("crd", "helm.sh/hook: crd-install") +
		hook("argowins", "argocd.argoproj.io/hook: PostSync, helm.sh/hook: test") + cm("plain"))}
	res := mustRender(t, app(t, appYAML("h", "ns", "  source: {repoURL: r, path: d}\n")), fs.FS(files))
	if got, want := summary(res.Objects), []string{"ConfigMap/ns/crd", "ConfigMap/ns/plain"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	if got, want := summary(res.Hooks), []string{"ConfigMap/ns/argowins", "ConfigMap/ns/helmpre", "ConfigMap/ns/presync"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hooks %v, want %v", got, want)
	}
}

// TestKustomizeReadsOutsideItsPath: a kustomize root's bases (and theirs)
// and components outside its folder are read; nothing else need be (a
// broken file elsewhere does not matter).
func TestKustomizeReadsOutsideItsPath(t *testing.T) {
	files := fstest.MapFS{
		"base/kustomization.yaml":            file("resources: [cm.yaml]\n"),
		"base/cm.yaml":                       file(cm("cm")),
		"env/common/kustomization.yaml":      file("resources: [../../base, extra.yaml]\n"),
		"env/common/extra.yaml":              file(cm("extra")),
		"env/prod/kustomization.yaml":        file("resources: [../common]\npatches: [{path: data.yaml}]\n"),
		"env/prod/data.yaml":                 file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {env: prod}\n"),
		"components/team/kustomization.yaml": file("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels: [{pairs: {team: shop}}]\n"),
		"unrelated/broken.yaml":              file("not: [yaml"),
	}
	res := mustRender(t, app(t, appYAML("prod", "ns", "  source: {repoURL: r, path: env/prod, kustomize: {components: [../../components/team]}}\n")), files)
	if got, want := summary(res.Objects), []string{"ConfigMap/ns/cm", "ConfigMap/ns/extra"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	c := find(t, res.Objects, "ConfigMap", "cm")
	if field(c, "data", "env") != "prod" || field(c, "metadata", "labels", "team") != "shop" {
		t.Errorf("cm = %v, want the patch and the component's label", c)
	}
}
