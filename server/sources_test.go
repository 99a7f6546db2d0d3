package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/provenance"
)

type namespacedScope struct{}

func (namespacedScope) Namespaced(schema.GroupKind) (bool, bool, error) { return true, true, nil }

// fakeDriver stands for a watcher: on its first list it expects one root
// and, once loaded, installs a ConfigMap there.
type fakeDriver struct {
	root    provenance.Root
	started bool
	src     *sources
	listed  bool
}

func (d *fakeDriver) add(_ Config, _ *rest.Config, _ ctrl.Manager, src *sources, _ logr.Logger) (func() error, error) {
	d.started, d.src = true, src
	return func() error {
		if !d.listed {
			return errors.New(d.root.Name + " not listed yet")
		}
		return nil
	}, nil
}

func (d *fakeDriver) list() {
	d.src.composer.Expect(d.root)
	d.listed = true
}

func (d *fakeDriver) load(t *testing.T, name string) {
	t.Helper()
	ix := &provenance.Indexer{Scope: namespacedScope{}, DefaultNamespace: "default", Root: d.root}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "shop"}}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("a", 40)}, []provenance.File{{Path: name + ".yaml", Objects: []map[string]any{cm}}})
	if err != nil {
		t.Fatal(err)
	}
	d.src.composer.Update(provenance.Part{Index: idx})
}

// TestSourcesSeveralDrivers checks that newSources starts every driver
// --source names into one Composer, whose roots compose, and that
// readiness waits for every driver to list its roots, not just for the
// roots some driver already expects.
func TestSourcesSeveralDrivers(t *testing.T) {
	flux := &fakeDriver{root: provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet"}}
	argo := &fakeDriver{root: provenance.Root{Name: "Application argocd/shop", Source: "https://git.example.com/shop.git"}}
	repo := &fakeDriver{}
	with := map[string]driver{SourceRepo: repo.add, SourceFlux: flux.add, SourceArgoCD: argo.add}
	src, err := buildSources(Config{Source: []string{SourceArgoCD, SourceFlux}}, nil, nil, logr.Discard(), with)
	if err != nil {
		t.Fatal(err)
	}
	if !flux.started || !argo.started || repo.started {
		t.Fatalf("started: flux %v, argocd %v, repo %v; want flux and argocd", flux.started, argo.started, repo.started)
	}
	if flux.src != argo.src {
		t.Fatal("the drivers feed different sources")
	}
	steps := []struct {
		name string
		do   func()
		want string // substring of Ready's error; "" is ready
	}{
		{"nothing listed", func() {}, "not listed yet"},
		{"argocd listed", argo.list, "Kustomization flux-system/apps not listed yet"},
		{"argocd loaded, flux not listed", func() { argo.load(t, "shop") }, "Kustomization flux-system/apps not listed yet"},
		{"flux listed, not loaded", flux.list, "roots not loaded yet: Kustomization flux-system/apps"},
		{"both loaded", func() { flux.load(t, "apps") }, ""},
	}
	for _, s := range steps {
		s.do()
		err := src.Ready()
		if s.want == "" && err != nil || s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)) {
			t.Fatalf("%s: ready = %v, want %q", s.name, err, s.want)
		}
	}
	snap := src.composer.Store.Load()
	for name, root := range map[string]provenance.Root{"shop": argo.root, "apps": flux.root} {
		e := snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: name})
		if e == nil || e.Root != root {
			t.Errorf("ConfigMap shop/%s: entry %+v, want declared by %s", name, e, root)
		}
	}
}

func TestSourcesDriverKinds(t *testing.T) {
	ok := func(Config, *rest.Config, ctrl.Manager, *sources, logr.Logger) (func() error, error) { return nil, nil }
	with := map[string]driver{SourceRepo: ok, SourceFlux: ok}
	for _, kinds := range [][]string{nil, {}, {"argocd"}, {"flux", "flux"}, {""}} {
		if _, err := buildSources(Config{Source: kinds}, nil, nil, logr.Discard(), with); err == nil {
			t.Errorf("source %q: built, want an error", kinds)
		}
	}
	if _, err := buildSources(Config{Source: []string{SourceRepo, SourceFlux}}, nil, nil, logr.Discard(), with); err != nil {
		t.Errorf("repo and flux: %v", err)
	}
}

// TestManagerCacheSeveralDrivers checks that one manager's cache serves
// both watchers: Flux's kinds in the scheme and its namespaces, Argo CD's
// Applications and AppProjects unstructured.
func TestManagerCacheSeveralDrivers(t *testing.T) {
	c := Config{Source: []string{SourceFlux, SourceArgoCD}, Flux: FluxConfig{Namespaces: []string{"flux-system"}}}
	setup := managerCache(c)
	if !setup.scheme.Recognizes(schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}) {
		t.Error("scheme lacks Flux's Kustomization")
	}
	if len(setup.cache.ByObject) != 8 {
		t.Errorf("cache by object: %d kinds, want Flux's 6 and Argo CD's 2", len(setup.cache.ByObject))
	}
	if setup.client.Cache == nil || !setup.client.Cache.Unstructured {
		t.Error("Applications are not read from the cache")
	}
	if repo := managerCache(Config{Source: []string{SourceRepo}}); repo.scheme != nil {
		t.Error("repo alone: a custom scheme")
	}
}
