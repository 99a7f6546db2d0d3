package fluxsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/rootsync"
)

// Watcher keeps one root per Flux Kustomization in Composer. It
// implements controller-runtime's manager.Runnable.
type Watcher struct {
	// Reader lists GitRepositories and Kustomizations: the manager's
	// cached client, whose cache is scoped to Namespaces.
	Reader client.Reader
	// Informers, when set, trigger a pass on any change of a GitRepository
	// or Kustomization (the manager's cache).
	Informers cache.Informers
	// APIReader reads the Secrets and ConfigMaps that GitRepositories and
	// Kustomizations name, one by one and uncached.
	APIReader client.Reader
	// Namespaces limits the watch; empty watches every namespace.
	Namespaces []string
	// Indexer is the template of each root's Indexer (scope, default
	// namespace).
	Indexer  *provenance.Indexer
	Composer *provenance.Composer
	// MinInterval bounds the polls of one GitRepository; zero means
	// DefaultMinInterval.
	MinInterval time.Duration
	// CacheDir, when set, keeps each GitRepository's objects on disk.
	CacheDir string
	// InsecureHTTP allows secretRef HTTP credentials over http://.
	InsecureHTTP bool
	// Helm, when set, enforces each HelmRelease of the watched namespaces
	// as a root too (helm.go).
	Helm *Helm
	Log  logr.Logger

	// passes is the trigger and the first listing, for other goroutines.
	passes rootsync.Passes
	repos  map[types.NamespacedName]*repo
	ocis   map[types.NamespacedName]*repo
	roots  map[types.NamespacedName]*root
	// listed is true once the first list of Kustomizations was expected.
	listed bool
	// renders counts renders, for tests and logs.
	renders int
	// batch holds the pass's new renders until flush.
	batch rootsync.Batch
	// helm is the state of the HelmReleases (helm.go).
	helm helmState
}

// Listed fails until the first pass has listed what the watcher
// enforces and expected those roots: until then the Composer cannot know
// what to wait for.
func (w *Watcher) Listed() error { return w.passes.Listed("Kustomizations") }

// Trigger asks for a pass now; it never blocks.
func (w *Watcher) Trigger() { w.passes.Trigger() }

// Start runs a pass at once, then on every change and at least every
// second (a pass that finds nothing due costs a list from the cache).
func (w *Watcher) Start(ctx context.Context) error {
	w.passes.Open()
	if _, err := w.watch(ctx, &sourcev1.GitRepository{}, &kustomizev1.Kustomization{}); err != nil {
		return err
	}
	if _, err := w.watch(ctx, &sourcev1.OCIRepository{}); err != nil && !meta.IsNoMatchError(err) {
		return err
	}
	if err := w.watchHelm(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := w.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error(err, "cannot list Flux objects; every root keeps its last good render")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.passes.Triggered():
		case <-tick.C:
		}
	}
}

// watch triggers a pass on every change of an object of the kinds of
// objs, through Informers, and returns their informers.
func (w *Watcher) watch(ctx context.Context, objs ...client.Object) ([]cache.Informer, error) {
	if w.Informers == nil {
		return nil, nil
	}
	var out []cache.Informer
	for _, obj := range objs {
		inf, err := w.Informers.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", obj, err)
		}
		out = append(out, inf)
		h := toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { w.Trigger() },
			UpdateFunc: func(any, any) { w.Trigger() },
			DeleteFunc: func(any) { w.Trigger() },
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	return out, nil
}

// SyncOnce lists the Flux objects, polls the GitRepositories that are due
// and brings every Kustomization to its source's revision. An error means
// the lists failed; each root's own failure goes to the Composer.
func (w *Watcher) SyncOnce(ctx context.Context) error {
	if w.repos == nil {
		w.repos, w.roots = map[types.NamespacedName]*repo{}, map[types.NamespacedName]*root{}
	}
	grs, kss, err := w.list(ctx)
	if err != nil {
		return err
	}
	ors, err := w.listOCI(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	w.pollOCIs(ctx, ors, now)
	current := map[types.NamespacedName]*repo{}
	for i := range grs {
		gr := &grs[i]
		key := types.NamespacedName{Namespace: gr.Namespace, Name: gr.Name}
		r := w.repos[key]
		if r == nil {
			r = &repo{}
		}
		r.polled = false
		w.poll(ctx, gr, r, now)
		current[key] = r
	}
	w.repos = current
	w.syncRoots(ctx, kss)
	if w.Helm != nil {
		if err := w.syncReleases(ctx, now); err != nil {
			w.flush()
			return err
		}
	}
	w.flush()
	return nil
}

// list reads the GitRepositories and Kustomizations of the watched
// namespaces, each sorted by namespace and name.
func (w *Watcher) list(ctx context.Context) ([]sourcev1.GitRepository, []kustomizev1.Kustomization, error) {
	var grs []sourcev1.GitRepository
	var kss []kustomizev1.Kustomization
	namespaces := w.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		var gl sourcev1.GitRepositoryList
		if err := w.Reader.List(ctx, &gl, client.InNamespace(ns)); err != nil {
			return nil, nil, fmt.Errorf("list GitRepositories: %w", err)
		}
		grs = append(grs, gl.Items...)
		var kl kustomizev1.KustomizationList
		if err := w.Reader.List(ctx, &kl, client.InNamespace(ns)); err != nil {
			return nil, nil, fmt.Errorf("list Kustomizations: %w", err)
		}
		kss = append(kss, kl.Items...)
	}
	slices.SortFunc(kss, func(a, b kustomizev1.Kustomization) int {
		return compareStrings(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return grs, kss, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// syncRoots expects the roots on the first list, brings each to its
// source, and removes the roots of Kustomizations that are gone or now
// skipped.
func (w *Watcher) syncRoots(ctx context.Context, kss []kustomizev1.Kustomization) {
	seen := map[types.NamespacedName]bool{}
	var expect []provenance.Root
	for i := range kss {
		ks := &kss[i]
		key := types.NamespacedName{Namespace: ks.Namespace, Name: ks.Name}
		if why := skipReason(ks); why != "" {
			if _, known := w.roots[key]; !known || w.roots[key].skipped != why {
				w.Log.Info("Kustomization skipped; gitgate declares none of its objects", "kustomization", key.String(), "reason", why)
			}
			w.dropRoot(key)
			w.roots[key] = &root{skipped: why}
			seen[key] = true
			continue
		}
		seen[key] = true
		rt := w.rootFor(ks)
		if !w.listed {
			expect = append(expect, rt.Root)
		}
	}
	if !w.listed {
		w.Composer.Expect(expect...)
		w.listed = true
		w.passes.MarkListed()
	}
	for i := range kss {
		ks := &kss[i]
		if rt := w.roots[types.NamespacedName{Namespace: ks.Namespace, Name: ks.Name}]; rt.skipped == "" {
			w.setInputs(rt, ks)
			w.syncRoot(ctx, ks, rt)
		}
	}
	for key := range w.roots {
		if !seen[key] {
			w.dropRoot(key)
			delete(w.roots, key)
		}
	}
}

// dropRoot forgets the root of key in the Composer, if it had one.
func (w *Watcher) dropRoot(key types.NamespacedName) {
	if rt := w.roots[key]; rt != nil && rt.skipped == "" {
		w.Composer.Remove(rt.Root)
		w.Log.Info("Kustomization no longer enforced", "root", rt.Root.Name)
	}
}

// errNoSource: the Kustomization's GitRepository is not in the watched
// namespaces.
var errNoSource = errors.New("source not found")
