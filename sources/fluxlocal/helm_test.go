package fluxlocal_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/fluxlocal"
)

// helmRelease is a HelmRelease in namespace shop with the given spec
// (indented by two spaces).
func helmRelease(name, spec string) string {
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n  interval: 10m\n" + spec
}

const gitChart = `  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
      valuesFiles: [charts/web/values.yaml, charts/web/values-prod.yaml]
  values:
    tag: "2.0"
  valuesFrom:
  - {kind: ConfigMap, name: web-values, valuesKey: greeting, targetPath: greeting}
`

func repoChart(repo string) string {
	return `  chart:
    spec:
      chart: web
      version: "1.x"
      sourceRef: {kind: HelmRepository, name: ` + repo + `}
`
}

// helmFleet is a top Kustomization declaring infrastructure (the shop
// Namespace, the values ConfigMap, a HelmRepository at url) and apps
// (the HelmReleases given), with the web chart committed under charts/.
func helmFleet(url, repoSpec string, releases ...string) map[string]string {
	files := chartFiles("charts/web", webChart)
	files["charts/web/values-prod.yaml"] = "replicaCount: 3\n"
	files["clusters/prod/sync.yaml"] = gitRepository + "---\n" + kustomization("infrastructure", "./infrastructure") + "---\n" + kustomization("apps", "./apps")
	files["infrastructure/ns.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	files["infrastructure/values.yaml"] = configMap("web-values", "shop", "  greeting: hej\n")
	files["infrastructure/repo.yaml"] = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: shop}\nspec:\n  interval: 10m\n  url: " + url + "\n" + repoSpec
	files["apps/releases.yaml"] = strings.Join(releases, "---\n")
	return files
}

func TestRenderHelmReleases(t *testing.T) {
	srv := helmRepo(t)
	cases := []renderCase{
		{
			name:  "a chart of the GitRepository, with valuesFiles and valuesFrom",
			files: helmFleet(srv.URL, "", helmRelease("web", gitChart)),
			path:  "clusters/prod",
			check: func(t *testing.T, res *fluxlocal.Result) {
				rt := rootNamed(t, res, "HelmRelease shop/web")
				if rt.Source != "GitRepository flux-system/flux-system" || rt.DeclaredBy != "Kustomization flux-system/apps" {
					t.Errorf("source %q, declared by %q", rt.Source, rt.DeclaredBy)
				}
				// The generation of a fresh HelmChart is the build
				// metadata of a chart with values files.
				if h := rt.Helm; h.ChartName != "web" || h.ChartVersion != "1.2.0+1" || h.Target.Revision != 1 || h.Target.Upgrade {
					t.Errorf("chart %s %s, target %+v", h.ChartName, h.ChartVersion, h.Target)
				}
				d := objectOf(t, rt, "Deployment", "web").Object
				for path, want := range map[string]any{
					"replicas":  int64(3),
					"image":     "registry.example.com/web:2.0",
					"greeting":  "hej",
					"revision":  "1",
					"namespace": "shop",
					"owner":     "web",
				} {
					got := map[string]any{
						"replicas":  field(d, "spec", "replicas"),
						"image":     field(d, "spec", "template", "spec", "containers", 0, "image"),
						"greeting":  field(d, "spec", "template", "spec", "containers", 0, "env", 0, "value"),
						"revision":  field(d, "spec", "template", "spec", "containers", 0, "env", 1, "value"),
						"namespace": field(d, "metadata", "namespace"),
						"owner":     field(d, "metadata", "labels", "helm.toolkit.fluxcd.io/name"),
					}[path]
					if got != want {
						t.Errorf("Deployment %s = %v, want %v", path, got, want)
					}
				}
				if tok := objectOf(t, rt, "ConfigMap", "web-token"); !reflect.DeepEqual(tok.Indeterminate, []string{"/data/token"}) {
					t.Errorf("token ConfigMap indeterminate %v, want /data/token", tok.Indeterminate)
				}
				if len(rt.Helm.Hooks) != 1 || field(rt.Helm.Hooks[0].Object, "metadata", "name") != "web-ping" {
					t.Errorf("hooks %v, want the web-ping hook", rt.Helm.Hooks)
				}
			},
		},
		{
			name:  "a chart of an HTTP HelmRepository",
			files: helmFleet(srv.URL, "", helmRelease("web", repoChart("charts"))),
			path:  "clusters/prod",
			check: func(t *testing.T, res *fluxlocal.Result) {
				rt := rootNamed(t, res, "HelmRelease shop/web")
				if rt.Source != "HelmRepository shop/charts" || rt.Helm.ChartVersion != "1.3.0" {
					t.Errorf("source %q, version %s, want HelmRepository shop/charts 1.3.0", rt.Source, rt.Helm.ChartVersion)
				}
				objectOf(t, rt, "Deployment", "web")
			},
		},
		{
			name: "a HelmRepository nobody declares fails only its root",
			files: helmFleet(srv.URL, "", helmRelease("web", repoChart("charts")),
				helmRelease("lost", repoChart("missing"))),
			path:   "clusters/prod",
			failed: map[string]string{"HelmRelease shop/lost": "HelmRepository shop/missing: declared by no rendered root"},
			check: func(t *testing.T, res *fluxlocal.Result) {
				objectOf(t, rootNamed(t, res, "HelmRelease shop/web"), "Deployment", "web")
			},
		},
		{
			name:   "a repository with credentials fails: Secrets are not read offline",
			files:  helmFleet(srv.URL, "  secretRef: {name: charts-auth}\n", helmRelease("web", repoChart("charts"))),
			path:   "clusters/prod",
			failed: map[string]string{"HelmRelease shop/web": "names Secret charts-auth: credentials come from a Secret in the cluster"},
		},
		{
			name: "valuesFrom a ConfigMap nobody declares fails, unless optional",
			files: helmFleet(srv.URL, "",
				helmRelease("web", gitChart+"  - {kind: ConfigMap, name: nowhere}\n"),
				helmRelease("opt", gitChart+"  - {kind: ConfigMap, name: nowhere, optional: true}\n")),
			path:   "clusters/prod",
			failed: map[string]string{"HelmRelease shop/web": "nowhere"},
		},
		{
			name: "valuesFrom a Secret the agent decrypts fails",
			files: func() map[string]string {
				f := helmFleet(srv.URL, "", helmRelease("web", gitChart+"  - {kind: Secret, name: sealed}\n"))
				f["clusters/prod/sync.yaml"] = strings.Replace(f["clusters/prod/sync.yaml"], "path: ./infrastructure\n  prune: true\n",
					"path: ./infrastructure\n  prune: true\n  decryption: {provider: sops}\n", 1)
				f["infrastructure/sealed.yaml"] = "apiVersion: v1\nkind: Secret\nmetadata: {name: sealed, namespace: shop}\nstringData: {values.yaml: 'x: ENC[...]'}\n"
				return f
			}(),
			path:   "clusters/prod",
			failed: map[string]string{"HelmRelease shop/web": "the agent decrypts it (SOPS)"},
		},
	}
	for _, c := range cases {
		c.roots = nil
		t.Run(c.name, func(t *testing.T) { runHelmCase(t, c) })
	}
}

// runHelmCase is runCase without the list of roots.
func runHelmCase(t *testing.T, c renderCase) {
	t.Helper()
	res := render(t, c.files, c.path)
	for _, rt := range res.Roots {
		want, shouldFail := c.failed[rt.String()]
		switch {
		case shouldFail && (rt.Err == nil || !strings.Contains(rt.Err.Error(), want)):
			t.Errorf("%s: error %v, want one with %q", rt, rt.Err, want)
		case !shouldFail && rt.Err != nil:
			t.Errorf("%s failed: %v", rt, rt.Err)
		}
	}
	if c.check != nil {
		c.check(t, res)
	}
}

// TestSnapshotIndexesRoots: every root is its own root of the snapshot,
// named as serve names it; indeterminate fields become ignore rules, the
// hooks are not declared, and an object declared by nobody else stays
// undeclared.
func TestSnapshotIndexesRoots(t *testing.T) {
	srv := helmRepo(t)
	res := render(t, helmFleet(srv.URL, "", helmRelease("web", gitChart)), "clusters/prod")
	snap, ignores := res.Snapshot(&provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default"}, "/fleet")
	if errs := res.Failed(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var roots []string
	for _, st := range snap.Roots() {
		roots = append(roots, st.Root.Name)
	}
	want := []string{"HelmRelease shop/web", "Kustomization flux-system/apps", "Kustomization flux-system/infrastructure", "path clusters/prod"}
	if !reflect.DeepEqual(roots, want) {
		t.Fatalf("snapshot roots %v, want %v", roots, want)
	}
	e := snap.Lookup(provenance.Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"})
	if e == nil || snap.RootOf(e).Root.Name != "HelmRelease shop/web" || e.Path != "web/templates/deployment.yaml" {
		t.Fatalf("Deployment shop/web: entry %+v", e)
	}
	if snap.Lookup(provenance.Key{Kind: "Pod", Namespace: "shop", Name: "web-ping"}) != nil {
		t.Error("a hook is declared")
	}
	wantRule := provenance.IgnoreRule{Kind: "ConfigMap", Namespace: "shop", Name: "web-token", JSONPointers: []string{"/data/token"}}
	if !reflect.DeepEqual(ignores, []provenance.IgnoreRule{wantRule}) {
		t.Errorf("ignores %+v, want %+v", ignores, wantRule)
	}
}
