package fluxsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmrender"
	"github.com/gitgate/gitgate/sources/rootsync"
)

// release is one HelmRelease and its last good render.
type release struct {
	*root
	// deployed identifies the release helm-controller recorded
	// (deployedKey) when the last good render was made.
	deployed string
	// waiting is the key of a render the agent has not released yet: the
	// spec changed, status.history[0] is still the last good render's.
	waiting string
	// uninstalled is true while the HelmRelease has no release yet,
	// logged once.
	uninstalled bool
	// The values read last (valuesOf), what they were read for, and
	// when they are due again.
	values     helmrender.Values
	valuesErr  error
	valuesSeen string
	valuesNext time.Time
	agents     []string
	// claim is Helm's records of the release (Secrets labelled
	// owner=helm, name=<release> in the storage namespace), as last
	// handed to the Composer.
	claim   provenance.Claim
	claimed bool
}

// ReleaseRootOf is the root a HelmRelease is enforced as: "HelmRelease
// <ns>/<name>", its own source: its chart, values and release are read
// for it alone, and its revision (provenance.Revision.Label) names the
// chart, its version and the revision of the chart's source.
func ReleaseRootOf(hr *helmv2.HelmRelease) provenance.Root {
	name := fmt.Sprintf("HelmRelease %s/%s", hr.Namespace, hr.Name)
	return provenance.Root{Name: name, Source: name}
}

// releaseSkip says why a HelmRelease declares nothing in this cluster,
// or "": one with spec.kubeConfig releases into another cluster.
func releaseSkip(hr *helmv2.HelmRelease) string {
	if hr.Spec.KubeConfig != nil {
		return "releases into another cluster (spec.kubeConfig)"
	}
	return ""
}

// releaseFor returns the state of hr's root, or nil when hr is skipped
// (logged once), and hands the Composer the root's inputs and agents.
func (w *Watcher) releaseFor(hr *helmv2.HelmRelease) *release {
	key := nameOf(hr)
	rel := w.helm.releases[key]
	if why := releaseSkip(hr); why != "" {
		if rel == nil || rel.skipped != why {
			w.Log.Info("HelmRelease skipped; gitgate declares none of its objects", "helmrelease", key.String(), "reason", why)
			w.dropRelease(key)
			w.helm.releases[key] = &release{root: &root{skipped: why}}
		}
		return nil
	}
	if rel == nil || rel.skipped != "" {
		r := ReleaseRootOf(hr)
		rel = &release{root: &root{State: rootsync.State{Root: r, Ix: w.Indexer.ForRoot(r)}}}
		w.helm.releases[key] = rel
	}
	w.setReleaseInputs(rel, hr)
	return rel
}

// dropRelease forgets the root of key in the Composer, if it had one.
func (w *Watcher) dropRelease(key types.NamespacedName) {
	if rel := w.helm.releases[key]; rel != nil && rel.skipped == "" {
		w.Composer.Remove(rel.root.Root)
		w.Log.Info("HelmRelease no longer enforced", "root", rel.root.Root.Name)
	}
}

// valuesFromField is where a HelmRelease names its inputs.
const valuesFromField = "spec.valuesFrom"

// setReleaseInputs hands the Composer the ConfigMaps and Secrets hr's
// valuesFrom names (optional ones and missing ones included), the
// service account helm-controller applies the release as
// (spec.serviceAccountName): the agent for this root's objects alone,
// and Helm's records of the release, which Helm finds by their labels
// whatever their names: the agent's alone.
func (w *Watcher) setReleaseInputs(rel *release, hr *helmv2.HelmRelease) {
	var in []provenance.Input
	for _, ref := range hr.Spec.ValuesFrom {
		in = append(in, provenance.Input{Key: provenance.Key{Kind: ref.Kind, Namespace: hr.Namespace, Name: ref.Name}, Via: valuesFromField})
	}
	if !rel.inputsSet || !slices.Equal(rel.inputs, in) {
		rel.inputs, rel.inputsSet = in, true
		w.Composer.SetInputs(rel.root.Root, in)
	}
	var agents []string
	if sa := hr.Spec.ServiceAccountName; sa != "" {
		agents = []string{"system:serviceaccount:" + hr.Namespace + ":" + sa}
	}
	if !slices.Equal(rel.agents, agents) {
		rel.agents = agents
		w.Composer.SetAgents(rel.root.Root, agents)
	}
	name := helmrender.ReleaseName(hr)
	claim := provenance.Claim{Kind: "Secret", Namespace: hr.GetStorageNamespace(), Labels: map[string]string{"owner": "helm", "name": name},
		NamePrefix: "sh.helm.release.v1." + name + ".v", Via: "Helm's records of release " + name}
	if !rel.claimed || rel.claim.Namespace != claim.Namespace || rel.claim.Via != claim.Via {
		rel.claim, rel.claimed = claim, true
		w.Composer.SetClaims(rel.root.Root, []provenance.Claim{claim})
	}
}

// deployedKey identifies what helm-controller recorded of its latest
// release and of the spec it released: what Result.Check compares.
func deployedKey(hr *helmv2.HelmRelease) string {
	var latest helmv2.Snapshot
	if l := hr.Status.History.Latest(); l != nil {
		latest = helmv2.Snapshot{Name: l.Name, Namespace: l.Namespace, Version: l.Version, Status: l.Status, Action: l.Action,
			ChartName: l.ChartName, ChartVersion: l.ChartVersion, ConfigDigest: l.ConfigDigest, OCIDigest: l.OCIDigest}
	}
	versions := make([]int, 0, len(hr.Status.History))
	for _, s := range hr.Status.History {
		versions = append(versions, s.Version)
	}
	return hashOf(latest.Name, latest.Namespace, latest.Version, latest.Status, latest.Action, latest.ChartName, latest.ChartVersion,
		latest.ConfigDigest, latest.OCIDigest, versions, hr.Status.ObservedPostRenderersDigest, hr.Status.ObservedCommonMetadataDigest)
}

// syncRelease brings one HelmRelease's root to its inputs, rendering
// only when they changed: the chart (its source's revision and digest),
// the spec, the release helm-controller recorded, the values and the
// cluster's capabilities. Failures go to the Composer once per key.
func (w *Watcher) syncRelease(ctx context.Context, hr *helmv2.HelmRelease, rel *release, objs *helmObjects, now time.Time) {
	if err := unsupportedChart(hr); err != nil {
		// Whether or not helm-controller released it, gitgate never will.
		w.fail(rel.root, hashOf(hr.Spec)+err.Error(), err)
		return
	}
	if len(hr.Status.History) == 0 {
		// helm-controller has made no release: nothing of it is in the
		// cluster to enforce, and its HelmChart may not exist yet. Its
		// inputs are held already (releaseFor).
		if !rel.uninstalled {
			rel.uninstalled = true
			w.Log.Info("HelmRelease not installed yet; nothing of it to enforce", "root", rel.root.Root.Name)
		}
		return
	}
	rel.uninstalled = false
	base := hashOf(hr.Spec, deployedKey(hr))
	ch, err := w.chartOf(ctx, hr, objs, now)
	if err != nil && errors.Is(err, helmchart.ErrArtifactMismatch) && rel.Loaded && rel.deployed == deployedKey(hr) {
		// source-controller is not at the revision gitgate fetched yet,
		// and helm-controller released nothing since the last good
		// render: that render is still what the cluster holds.
		w.wait(rel, base+"chart:"+err.Error(), err)
		return
	}
	if err != nil {
		w.fail(rel.root, base+"chart:"+err.Error(), err)
		return
	}
	vals, err := w.valuesOf(ctx, hr, rel, now)
	if err != nil {
		w.fail(rel.root, base+"values:"+err.Error(), err)
		return
	}
	caps, capsKey, err := w.capabilities()
	if err != nil {
		w.fail(rel.root, base+"caps:"+err.Error(), err)
		return
	}
	key := hashOf(base, ch.key, vals.ConfigDigest(), vals.FromSecret, capsKey)
	switch key {
	case rel.Key, rel.waiting:
		w.Composer.Confirm(rel.root.Root)
		rel.FailedKey = ""
	case rel.FailedKey:
		// The same inputs failed before: counted once.
	default:
		w.renderRelease(ctx, hr, rel, renderInput{chart: ch, values: vals, caps: caps}, key)
	}
}

// valuesOf composes hr's values as helm-controller does, reading its
// valuesFrom anew when hr changed (or was asked to reconcile) and at its
// interval, bounded below by MinInterval.
func (w *Watcher) valuesOf(ctx context.Context, hr *helmv2.HelmRelease, rel *release, now time.Time) (helmrender.Values, error) {
	seen := hashOf(hr.Spec, hr.Generation, hr.Annotations[fluxmeta.ReconcileRequestAnnotation], deployedKey(hr))
	if rel.valuesSeen == seen && now.Before(rel.valuesNext) {
		return rel.values, rel.valuesErr
	}
	interval := max(hr.Spec.Interval.Duration, w.minInterval())
	rel.valuesSeen, rel.valuesNext = seen, now.Add(interval)
	rel.values, rel.valuesErr = helmrender.ComposeValues(ctx, w.APIReader, hr)
	return rel.values, rel.valuesErr
}

// wait keeps rel's last good render, which is still what the cluster
// holds (helm-controller released nothing since), while its new inputs
// do not agree with that release yet: confirmed, logged once per key,
// not a failure.
func (w *Watcher) wait(rel *release, key string, why error) {
	w.Composer.Confirm(rel.root.Root)
	rel.FailedKey = ""
	if rel.waiting == key {
		return
	}
	rel.waiting = key
	w.Log.Info("HelmRelease not released yet; its last release stays enforced", "root", rel.root.Root.Name, "reason", why.Error())
}

// renderInput is what one render of a HelmRelease reads besides it.
type renderInput struct {
	chart  *chartEntry
	values helmrender.Values
	caps   helmrender.Capabilities
}

// renderRelease renders hr as helm-controller made its latest release
// and installs the render for the pass's recomposition once it agrees
// with that release (Result.Check). A render that does not agree while
// the release is the one the last good render agreed with is a spec
// helm-controller has not released yet: the last good render stays, and
// is current.
func (w *Watcher) renderRelease(ctx context.Context, hr *helmv2.HelmRelease, rel *release, in renderInput, key string) {
	target, ok := helmrender.Deployed(hr)
	if !ok {
		w.fail(rel.root, key, helmrender.ErrNotDeployed)
		return
	}
	w.helm.renders++
	res, err := helmrender.Render(ctx, helmrender.Input{HelmRelease: hr, Chart: in.chart.chart.Chart, OCIDigest: in.chart.chart.OCIDigest,
		Values: in.values, Target: target, Capabilities: in.caps, Scope: w.Indexer.Scope})
	if err != nil {
		w.fail(rel.root, key, err)
		return
	}
	if err := res.Check(hr); err != nil {
		if rel.Loaded && rel.deployed == deployedKey(hr) {
			w.wait(rel, key, err)
			return
		}
		w.fail(rel.root, key, err)
		return
	}
	w.Log.Info("HelmRelease rendered as its latest release", "root", rel.root.Root.Name, "release", res.ReleaseName, "version", target.Revision,
		"chart", res.ChartName, "chartVersion", res.ChartVersion, "configDigest", res.ConfigDigest)
	files := releaseFiles(hr, res, key)
	deployed := deployedKey(hr)
	w.install(rel.root, in.chart.revision(res), key, func(func(path, id string) bool) ([]provenance.File, error) { return files, nil },
		func() { rel.deployed, rel.waiting = deployed, "" })
}
