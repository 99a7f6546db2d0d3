package fluxsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// Helm is what enforcing HelmReleases needs beyond what Kustomizations
// do. Each HelmRelease of the watched namespaces is a root of its own,
// "HelmRelease <ns>/<name>", rendered with helmrender from the chart
// gitgate fetches itself (helmchart), and declared only once its render
// agrees with the release helm-controller recorded (status.history[0]).
type Helm struct {
	// Capabilities reads the cluster's version and API versions
	// (helmrender.CapabilitiesFrom over discovery); the Watcher asks at
	// most every CapabilitiesTTL, and a change renders every HelmRelease
	// again.
	Capabilities func(context.Context) (helmrender.Capabilities, error)
	// CapabilitiesTTL; zero means DefaultCapabilitiesTTL.
	CapabilitiesTTL time.Duration
	// Fetcher gets charts from Helm and OCI repositories; nil uses one
	// that reads their Secrets through the Watcher's APIReader.
	Fetcher *helmchart.Fetcher
}

// DefaultCapabilitiesTTL bounds how long the cluster's capabilities are
// reused: a CRD installed since then is seen by the next render after it.
const DefaultCapabilitiesTTL = time.Minute

// helmState is what the Watcher keeps of the HelmReleases.
type helmState struct {
	// off: the API server serves no HelmRelease (helm-controller is not
	// installed); logged once, and the HelmReleases are not watched.
	off      bool
	releases map[types.NamespacedName]*release
	charts   map[string]*chartEntry
	listed   bool
	caps     helmrender.Capabilities
	capsKey  string
	capsAt   time.Time
	capsErr  error
	// renders counts HelmRelease renders, for tests and logs.
	renders int
	// informers are the caches of helmKinds, when watched.
	informers      []cache.Informer
	unsyncedLogged time.Time
}

// helmObjects are the Flux objects a pass reads for the HelmReleases,
// from the manager's cache, by namespace and name.
type helmObjects struct {
	releases []helmv2.HelmRelease
	repos    map[types.NamespacedName]*sourcev1.HelmRepository
	charts   map[types.NamespacedName]*sourcev1.HelmChart
	ocis     map[types.NamespacedName]*sourcev1.OCIRepository
}

// helmKinds are the kinds the HelmReleases' roots read.
func helmKinds() []client.Object {
	return []client.Object{&helmv2.HelmRelease{}, &sourcev1.HelmRepository{}, &sourcev1.HelmChart{}, &sourcev1.OCIRepository{}}
}

// watchHelm watches the HelmReleases and their sources. An API server
// that serves no HelmRelease (helm-controller not installed) turns the
// HelmReleases off for this run, with a log line: Kustomizations go on.
func (w *Watcher) watchHelm(ctx context.Context) error {
	if w.Helm == nil {
		return nil
	}
	infs, err := w.watch(ctx, helmKinds()...)
	if meta.IsNoMatchError(err) {
		w.helm.off = true
		w.Log.Info("the API server serves no HelmRelease or Helm source; HelmReleases are not enforced until gitgate restarts", "reason", err.Error())
		return nil
	}
	w.helm.informers = infs
	return err
}

// helmSynced reports whether the caches of the HelmReleases and their
// sources hold the cluster's objects: a list before that would wait for
// them, and hold up the Kustomizations (gitgate's RBAC on them missing,
// say). Not synced yet is logged at most once a minute.
func (w *Watcher) helmSynced(now time.Time) bool {
	for _, inf := range w.helm.informers {
		if !inf.HasSynced() {
			if now.Sub(w.helm.unsyncedLogged) > time.Minute {
				w.helm.unsyncedLogged = now
				w.Log.Info("HelmReleases or Helm sources not listed yet (check gitgate's RBAC on them); HelmReleases wait")
			}
			return false
		}
	}
	return true
}

// listHelm reads the HelmReleases, sorted by namespace and name, and the
// sources they may name.
func (w *Watcher) listHelm(ctx context.Context) (*helmObjects, error) {
	o := &helmObjects{repos: map[types.NamespacedName]*sourcev1.HelmRepository{}, charts: map[types.NamespacedName]*sourcev1.HelmChart{}, ocis: map[types.NamespacedName]*sourcev1.OCIRepository{}}
	namespaces := w.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		var hl helmv2.HelmReleaseList
		var rl sourcev1.HelmRepositoryList
		var cl sourcev1.HelmChartList
		var ol sourcev1.OCIRepositoryList
		for _, l := range []client.ObjectList{&hl, &rl, &cl, &ol} {
			if err := w.Reader.List(ctx, l, client.InNamespace(ns)); err != nil {
				return nil, fmt.Errorf("list %T: %w", l, err)
			}
		}
		o.releases = append(o.releases, hl.Items...)
		for i := range rl.Items {
			o.repos[nameOf(&rl.Items[i])] = &rl.Items[i]
		}
		for i := range cl.Items {
			o.charts[nameOf(&cl.Items[i])] = &cl.Items[i]
		}
		for i := range ol.Items {
			o.ocis[nameOf(&ol.Items[i])] = &ol.Items[i]
		}
	}
	slices.SortFunc(o.releases, func(a, b helmv2.HelmRelease) int {
		return compareStrings(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return o, nil
}

func nameOf(o client.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// syncReleases brings every HelmRelease's root to its inputs: expects
// the roots of the first list that have a deployed release, renders
// those whose inputs changed, and removes the roots of HelmReleases that
// are gone or now skipped. An error means the lists failed.
func (w *Watcher) syncReleases(ctx context.Context, now time.Time) error {
	if w.helm.off || !w.helmSynced(now) {
		return nil
	}
	if w.helm.releases == nil {
		w.helm.releases, w.helm.charts = map[types.NamespacedName]*release{}, map[string]*chartEntry{}
	}
	objs, err := w.listHelm(ctx)
	if err != nil {
		return err
	}
	w.refreshCapabilities(ctx, now)
	seen := map[types.NamespacedName]bool{}
	var expect []provenance.Root
	for i := range objs.releases {
		hr := &objs.releases[i]
		key := nameOf(hr)
		seen[key] = true
		rel := w.releaseFor(hr)
		if rel == nil {
			continue
		}
		if _, deployed := helmrender.Deployed(hr); !w.helm.listed && deployed {
			expect = append(expect, rel.root.Root)
		}
	}
	if !w.helm.listed {
		w.Composer.Expect(expect...)
		w.helm.listed = true
	}
	for i := range objs.releases {
		hr := &objs.releases[i]
		if rel := w.helm.releases[nameOf(hr)]; rel.skipped == "" {
			w.syncRelease(ctx, hr, rel, objs, now)
		}
	}
	for key := range w.helm.releases {
		if !seen[key] {
			w.dropRelease(key)
			delete(w.helm.releases, key)
		}
	}
	w.pruneCharts()
	return nil
}

// refreshCapabilities asks the cluster for its capabilities when the
// last answer is older than the TTL. A failure keeps the last answer;
// with none, the renders fail and say why.
func (w *Watcher) refreshCapabilities(ctx context.Context, now time.Time) {
	ttl := w.Helm.CapabilitiesTTL
	if ttl <= 0 {
		ttl = DefaultCapabilitiesTTL
	}
	if !w.helm.capsAt.IsZero() && now.Sub(w.helm.capsAt) < ttl {
		return
	}
	w.helm.capsAt = now
	if w.Helm.Capabilities == nil {
		w.helm.capsErr = errNoCapabilities
		return
	}
	caps, err := w.Helm.Capabilities(ctx)
	if err != nil {
		w.helm.capsErr = fmt.Errorf("read the cluster's capabilities (discovery): %w", err)
		w.Log.Error(err, "cannot read the cluster's capabilities; HelmReleases render with the last ones read")
		return
	}
	w.helm.caps, w.helm.capsKey, w.helm.capsErr = caps, hashOf(caps), nil
}

// capabilities are the cluster's capabilities last read, and their key.
func (w *Watcher) capabilities() (helmrender.Capabilities, string, error) {
	if w.helm.capsKey == "" {
		if w.helm.capsErr == nil {
			return helmrender.Capabilities{}, "", errNoCapabilities
		}
		return helmrender.Capabilities{}, "", w.helm.capsErr
	}
	return w.helm.caps, w.helm.capsKey, nil
}

// errNoCapabilities: the Watcher was given no way to read the cluster's
// capabilities, which every render needs.
var errNoCapabilities = errors.New("no capabilities of the cluster to render with")
