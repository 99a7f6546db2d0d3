package fluxlocal_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/fluxlocal"
)

// renderCase is one directory rendered from one path, and what each root
// must hold.
type renderCase struct {
	name  string
	files map[string]string
	path  string
	opts  func(*fluxlocal.Options)
	// roots are the names of the roots found, in order.
	roots []string
	// failed are the roots that must fail, with a part of the error.
	failed map[string]string
	// skipped are the roots that must be skipped, with a part of why.
	skipped map[string]string
	// objects are what a root declares (Kind/name, in order).
	objects map[string][]string
	check   func(t *testing.T, res *fluxlocal.Result)
}

// fleet is clusters/prod → infrastructure + apps, as
// flux2-kustomize-helm-example lays it out, with flux bootstrap's
// flux-system declaring itself.
func fleet() map[string]string {
	return map[string]string{
		"clusters/prod/flux-system/gotk-sync.yaml":     gitRepository + "---\n" + fluxSystemKs,
		"clusters/prod/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml]\n",
		"clusters/prod/infrastructure.yaml":            kustomization("infrastructure", "./infrastructure"),
		"clusters/prod/apps.yaml":                      kustomization("apps", "./apps"),
		"infrastructure/namespace.yaml":                "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
		"infrastructure/settings.yaml":                 configMap("settings", "shop", "  mode: prod\n"),
		"apps/web.yaml":                                "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n",
	}
}

func TestRender(t *testing.T) {
	cases := []renderCase{
		{
			name: "nested Kustomizations, flux-system adopted as the top root", files: fleet(), path: "clusters/prod",
			roots: []string{"Kustomization flux-system/flux-system", "Kustomization flux-system/apps", "Kustomization flux-system/infrastructure"},
			objects: map[string][]string{
				"Kustomization flux-system/flux-system":    {"Kustomization/apps", "GitRepository/flux-system", "Kustomization/flux-system", "Kustomization/infrastructure"},
				"Kustomization flux-system/infrastructure": {"Namespace/shop", "ConfigMap/settings"},
				"Kustomization flux-system/apps":           {"ServiceAccount/web"},
			},
			check: func(t *testing.T, res *fluxlocal.Result) {
				sa := objectOf(t, rootNamed(t, res, "Kustomization flux-system/apps"), "ServiceAccount", "web")
				if got := field(sa.Object, "metadata", "labels", "kustomize.toolkit.fluxcd.io/name"); got != "apps" {
					t.Errorf("apps' ServiceAccount has owner label %v, want apps", got)
				}
			},
		},
		{
			name: "a leaf path renders as a synthetic root", files: fleet(), path: "apps",
			roots:   []string{"path apps"},
			objects: map[string][]string{"path apps": {"ServiceAccount/web"}},
		},
		{
			name: "a cycle renders each Kustomization once",
			files: map[string]string{
				"a/ks.yaml": kustomization("b", "./b"),
				"b/ks.yaml": kustomization("a", "./a"),
			},
			path:  "a",
			roots: []string{"path a", "Kustomization flux-system/b", "Kustomization flux-system/a"},
			objects: map[string][]string{
				"Kustomization flux-system/b": {"Kustomization/a"},
				"Kustomization flux-system/a": {"Kustomization/b"},
			},
		},
		{
			name: "nesting deeper than MaxDepth fails that root",
			files: map[string]string{
				"a/ks.yaml": kustomization("b", "./b"),
				"b/ks.yaml": kustomization("c", "./c"),
				"c/ks.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n",
			},
			path:   "a",
			opts:   func(o *fluxlocal.Options) { o.MaxDepth = 1 },
			roots:  []string{"path a", "Kustomization flux-system/b", "Kustomization flux-system/c"},
			failed: map[string]string{"Kustomization flux-system/c": "nest too deep"},
		},
		{
			name: "a Kustomization of another source fails only its root",
			files: map[string]string{
				"top/ks.yaml": kustomization("ok", "./ok") + "---\n" + strings.Replace(kustomization("oci", "./x"), "kind: GitRepository", "kind: OCIRepository", 1),
				"ok/ns.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n",
			},
			path:    "top",
			roots:   []string{"path top", "Kustomization flux-system/ok", "Kustomization flux-system/oci"},
			failed:  map[string]string{"Kustomization flux-system/oci": "only a GitRepository is read"},
			objects: map[string][]string{"Kustomization flux-system/ok": {"Namespace/ok"}},
		},
		{
			name: "--local-source skips the roots of other GitRepositories",
			files: map[string]string{
				"top/ks.yaml":  kustomization("mine", "./mine") + "---\n" + strings.Replace(kustomization("theirs", "./x"), "name: flux-system}", "name: other}", 1),
				"mine/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: mine}\n",
			},
			path: "top",
			opts: func(o *fluxlocal.Options) {
				o.LocalSource = &types.NamespacedName{Namespace: "flux-system", Name: "flux-system"}
			},
			roots:   []string{"path top", "Kustomization flux-system/mine", "Kustomization flux-system/theirs"},
			skipped: map[string]string{"Kustomization flux-system/theirs": "GitRepository flux-system/other, is not --local-source"},
		},
		{
			name: "another cluster's Kustomization is skipped, an object Flux never reverts is not enforced",
			files: map[string]string{
				"top/ks.yaml": kustomization("apps", "./apps") + "---\n" + strings.Replace(kustomization("remote", "./x"), "  prune: true\n",
					"  prune: true\n  kubeConfig: {secretRef: {name: remote}}\n", 1),
				"apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: once\n  namespace: shop\n  annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}\n",
			},
			path:    "top",
			roots:   []string{"path top", "Kustomization flux-system/apps", "Kustomization flux-system/remote"},
			skipped: map[string]string{"Kustomization flux-system/remote": "another cluster"},
			check: func(t *testing.T, res *fluxlocal.Result) {
				if o := objectOf(t, rootNamed(t, res, "Kustomization flux-system/apps"), "ConfigMap", "once"); !strings.Contains(o.NotEnforced, "leaves it alone") {
					t.Errorf("ssa IfNotPresent: NotEnforced %q", o.NotEnforced)
				}
				snap, _ := res.Snapshot(&provenance.Indexer{Scope: provenancetest.AnyKind{}}, "/dir")
				if snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: "once"}) != nil {
					t.Error("an object Flux never reverts is declared")
				}
			},
		},
		{
			name: "substituteFrom a ConfigMap a sibling declares later renders again",
			files: map[string]string{
				"top/ks.yaml": strings.Replace(kustomization("apps", "./apps"), "  prune: true\n",
					"  prune: true\n  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: vars}]\n", 1) + "---\n" + kustomization("vars", "./vars"),
				"apps/cm.yaml":   configMap("app", "shop", "  mode: ${mode}\n"),
				"vars/vars.yaml": configMap("vars", "flux-system", "  mode: prod\n"),
			},
			path:  "top",
			roots: []string{"path top", "Kustomization flux-system/apps", "Kustomization flux-system/vars"},
			check: func(t *testing.T, res *fluxlocal.Result) {
				cm := objectOf(t, rootNamed(t, res, "Kustomization flux-system/apps"), "ConfigMap", "app")
				if got := field(cm.Object, "data", "mode"); got != "prod" {
					t.Errorf("substituted mode = %v, want prod", got)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func runCase(t *testing.T, c renderCase) {
	t.Helper()
	opts := []func(*fluxlocal.Options){}
	if c.opts != nil {
		opts = append(opts, c.opts)
	}
	res := render(t, c.files, c.path, opts...)
	var names []string
	for _, rt := range res.Roots {
		names = append(names, rt.String())
	}
	if !reflect.DeepEqual(names, c.roots) {
		t.Fatalf("roots = %v, want %v", names, c.roots)
	}
	for _, rt := range res.Roots {
		want, shouldFail := c.failed[rt.String()]
		switch {
		case shouldFail && (rt.Err == nil || !strings.Contains(rt.Err.Error(), want)):
			t.Errorf("%s: error %v, want one with %q", rt, rt.Err, want)
		case !shouldFail && rt.Err != nil:
			t.Errorf("%s failed: %v", rt, rt.Err)
		}
		if why, ok := c.skipped[rt.String()]; ok != (rt.Skipped != "") || !strings.Contains(rt.Skipped, why) {
			t.Errorf("%s: skipped %q, want %q", rt, rt.Skipped, why)
		}
		if want, ok := c.objects[rt.String()]; ok && !reflect.DeepEqual(objectNames(rt), want) {
			t.Errorf("%s declares %v, want %v", rt, objectNames(rt), want)
		}
	}
	if c.check != nil {
		c.check(t, res)
	}
	if len(c.failed) != len(res.Failed()) {
		t.Errorf("Failed() = %v, want %d", res.Failed(), len(c.failed))
	}
}

// TestRenderErrorsAreSentinels: a caller tells the offline limits apart.
func TestRenderErrorsAreSentinels(t *testing.T) {
	res := render(t, map[string]string{
		"top/ks.yaml": strings.Replace(kustomization("oci", "./x"), "kind: GitRepository", "kind: Bucket", 1),
	}, "top")
	if err := rootNamed(t, res, "Kustomization flux-system/oci").Err; !errors.Is(err, fluxlocal.ErrUnsupported) {
		t.Fatalf("Bucket source: %v, want ErrUnsupported", err)
	}
}
