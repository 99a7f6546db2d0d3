package fluxsync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/helmrender"
	"github.com/gitgate/gitgate/test/harness"
)

// shop is where the HelmReleases and what they install live.
const shop = "shop"

// helmScope knows the kinds the fixture chart renders; its CRD brings
// Widget.
var helmScope = provenancetest.Scope{"ConfigMap": true, "Secret": true, "Deployment.apps": true,
	"CustomResourceDefinition.apiextensions.k8s.io": false, "Namespace": false, "Widget.shop.example.com": true}

var testCaps = helmrender.Capabilities{Version: "v1.33.0", Major: "1", Minor: "33", APIVersions: []string{"v1", "apps/v1"}}

// chartRepo is a Git repository holding the shopfront fixture chart at
// charts/shopfront; it returns the server and the commit.
func chartRepo(t *testing.T) (*harness.GitServer, string) {
	t.Helper()
	files, err := harness.ChartFiles(harness.ChartFixture("shopfront"), "charts/shopfront")
	if err != nil {
		t.Fatal(err)
	}
	g := startGit(t, map[string]string{"README.md": "fleet\n"})
	sha, err := g.Commit(harness.Change{Write: files, Message: "shopfront"})
	if err != nil {
		t.Fatal(err)
	}
	return g, sha
}

// helmRelease is a HelmRelease of shopfront from the GitRepository
// fleet, with values, and the release helm-controller recorded for them
// (status.history[0]) unless edit changes either.
func helmRelease(t *testing.T, name string, values map[string]any, edit ...func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
	t.Helper()
	raw, _ := json.Marshal(values)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: name, Generation: 1},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute}, Values: &apiextensionsv1.JSON{Raw: raw},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "./charts/shopfront",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "fleet", Namespace: ns}}}}}
	released(t, hr, 1)
	for _, e := range edit {
		e(hr)
	}
	return hr
}

// released records in hr's status that helm-controller released its
// spec as version v.
func released(t *testing.T, hr *helmv2.HelmRelease, v int, values ...client.Reader) {
	t.Helper()
	var r client.Reader
	if len(values) > 0 {
		r = values[0]
	}
	vals, err := helmrender.ComposeValues(context.Background(), r, hr)
	if err != nil {
		t.Fatal(err)
	}
	action := helmv2.ReleaseActionInstall
	if v > 1 {
		action = helmv2.ReleaseActionUpgrade
	}
	snap := &helmv2.Snapshot{Name: helmrender.ReleaseName(hr), Namespace: hr.GetReleaseNamespace(), Version: v, Status: "deployed", Action: action,
		ChartName: "shopfront", ChartVersion: "0.1.0", ConfigDigest: vals.ConfigDigest()}
	hr.Status.History = append(helmv2.Snapshots{snap}, hr.Status.History...)
	for _, s := range hr.Status.History[1:] {
		s.Status = "superseded"
	}
}

// helmChartOf is the HelmChart helm-controller makes for hr, as
// source-controller reports it once it built the chart at commit sha.
func helmChartOf(hr *helmv2.HelmRelease, sha string) *sourcev1.HelmChart {
	return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: hr.GetHelmChartName(), Generation: 1},
		Spec: sourcev1.HelmChartSpec{Chart: "./charts/shopfront", SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "GitRepository", Name: "fleet"}},
		Status: sourcev1.HelmChartStatus{ObservedChartName: "shopfront", ObservedSourceArtifactRevision: "main@sha1:" + sha,
			Artifact: &meta.Artifact{Revision: "0.1.0", Digest: "sha256:whatever-source-controller-packaged"}}}
}

// updateRelease writes hr's spec and status, as the agent's and
// kustomize-controller's writes would.
func updateRelease(t *testing.T, c client.Client, hr *helmv2.HelmRelease) {
	t.Helper()
	status := hr.Status.DeepCopy()
	if err := c.Update(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
	hr.Status = *status
	if err := c.Status().Update(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
}

func newHelmWatcher(t *testing.T, logs *logLines, objs ...client.Object) (*Watcher, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sourcev1.AddToScheme, kustomizev1.AddToScheme, helmv2.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithStatusSubresource(&helmv2.HelmRelease{}, &sourcev1.HelmChart{}).Build()
	return &Watcher{
		Reader: c, APIReader: c, InsecureHTTP: true,
		Composer:    &provenance.Composer{Store: &provenance.Store{}, Log: logs.logger()},
		Indexer:     &provenance.Indexer{Scope: helmScope, DefaultNamespace: "default"},
		MinInterval: time.Nanosecond, Log: logs.logger(),
		Helm: &Helm{Capabilities: func(context.Context) (helmrender.Capabilities, error) { return testCaps, nil }},
	}, c
}

func entryOf(w *Watcher, group, kind, name string) *provenance.Entry {
	snap := w.Composer.Store.Load()
	if snap == nil {
		return nil
	}
	return snap.Lookup(provenance.Key{Group: group, Kind: kind, Namespace: shop, Name: name})
}

// TestHelmReleaseIsARoot: a HelmRelease is a root of its own, rendered
// from the chart gitgate fetched from Git itself, once it agrees with the
// release helm-controller recorded: its objects with the chart's file,
// the random token indeterminate, the hook and Helm's release record
// transient, the valuesFrom ConfigMap an input and the service account
// an agent; its revision names the chart and the source's commit. It is
// rendered again only when an input changes.
func TestHelmReleaseIsARoot(t *testing.T) {
	g, sha := chartRepo(t)
	hr := helmRelease(t, "shopfront", map[string]any{"replicaCount": 2}, func(hr *helmv2.HelmRelease) {
		hr.Spec.ServiceAccountName = "deployer"
		hr.Spec.ValuesFrom = []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "greeting", ValuesKey: "greeting", TargetPath: "greeting"}}
		hr.Status.History = nil
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "greeting"}, Data: map[string]string{"greeting": "hola"}}
	released(t, hr, 1, fake.NewClientBuilder().WithObjects(cm.DeepCopy()).Build())
	w, c := newHelmWatcher(t, &logLines{}, gitRepository("fleet", g.HTTPURL(), authName), authSecret(), hr, helmChartOf(hr, sha), cm)
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	snap := w.Composer.Store.Load()
	root := ReleaseRootOf(hr)
	st := snap.State(root)
	if st == nil || !strings.HasPrefix(st.Revision.Label, "chart shopfront 0.1.0 of GitRepository flux-system/fleet at main@sha1:"+sha) || st.Revision.Hash != sha {
		t.Fatalf("root state %+v, logs:\n%v", st, w.Composer.Ready())
	}
	dep := entryOf(w, "apps", "Deployment", "shopfront")
	if dep == nil || dep.Path != "shopfront/templates/deployment.yaml" || dep.Root != root {
		t.Fatalf("Deployment entry %+v", dep)
	}
	spec := dep.Object()["spec"].(map[string]any)
	if fmt.Sprint(spec["replicas"]) != "2" {
		t.Errorf("replicas %v, want 2", spec["replicas"])
	}
	if e := entryOf(w, "", "Secret", "shopfront-session"); e == nil || !slices.Equal(e.Indeterminate, []string{"/data/token"}) {
		t.Errorf("session Secret %+v, want its token indeterminate", e)
	}
	for _, name := range []string{"shopfront-migration", "sh.helm.release.v1.shopfront.v1"} {
		kind := "ConfigMap"
		if strings.HasPrefix(name, "sh.helm") {
			kind = "Secret"
		}
		if e := entryOf(w, "", kind, name); e == nil || !e.Transient || !e.AgentOnly {
			t.Errorf("%s %s = %+v, want transient and agent-only", kind, name, e)
		}
	}
	if in := snap.InputOf(provenance.Key{Kind: "ConfigMap", Namespace: shop, Name: "greeting"}); len(in) != 1 || in[0].Root != root || in[0].Via != "spec.valuesFrom" {
		t.Errorf("valuesFrom input: %+v", in)
	}
	record := map[string]any{"metadata": map[string]any{"labels": map[string]any{"owner": "helm", "name": "shopfront"}}}
	if rc, ok := snap.ClaimOf("", "Secret", shop, record); !ok || rc.Root != root {
		t.Errorf("Helm's records of the release are not claimed: %+v", rc)
	}
	if r, ok := snap.AgentOf("system:serviceaccount:shop:deployer", dep.Key); !ok || r != root {
		t.Errorf("AgentOf = %v %v", r, ok)
	}
	if err := w.SyncOnce(ctx); err != nil || w.helm.renders != 1 {
		t.Errorf("unchanged inputs rendered again: %d renders (%v)", w.helm.renders, err)
	}
	// The greeting changes: helm-controller releases it as version 2.
	cm.Data["greeting"] = "salut"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(hr), hr); err != nil {
		t.Fatal(err)
	}
	released(t, hr, 2, c)
	updateRelease(t, c, hr)
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := entryOf(w, "", "ConfigMap", "shopfront-config")
	if cfg == nil || cfg.Object()["data"].(map[string]any)["greeting"] != "salut" || w.helm.renders != 2 {
		t.Errorf("after the upgrade: config %v, %d renders", cfg, w.helm.renders)
	}
	if entryOf(w, "", "Secret", "sh.helm.release.v1.shopfront.v2") == nil || entryOf(w, "", "Secret", "sh.helm.release.v1.shopfront.v1") == nil {
		t.Error("release records of versions 1 and 2 not declared")
	}
}

// TestHelmReleaseWaitsForTheAgent: a spec the agent has not released yet
// leaves the last release enforced, confirmed and not failed; once the
// agent records the new release, gitgate enforces it.
func TestHelmReleaseWaitsForTheAgent(t *testing.T) {
	g, sha := chartRepo(t)
	hr := helmRelease(t, "shopfront", map[string]any{"replicaCount": 2})
	logs := &logLines{}
	w, c := newHelmWatcher(t, logs, gitRepository("fleet", g.HTTPURL(), authName), authSecret(), hr, helmChartOf(hr, sha))
	ctx := context.Background()
	replicas := func() any {
		e := entryOf(w, "apps", "Deployment", "shopfront")
		if e == nil {
			return nil
		}
		return fmt.Sprint(e.Object()["spec"].(map[string]any)["replicas"])
	}
	if err := w.SyncOnce(ctx); err != nil || replicas() != "2" {
		t.Fatalf("replicas %v (%v)", replicas(), err)
	}
	before := failures(t, "HelmRelease shop/shopfront")
	if err := c.Get(ctx, client.ObjectKeyFromObject(hr), hr); err != nil {
		t.Fatal(err)
	}
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount":3}`)}
	updateRelease(t, c, hr)
	for range 2 {
		if err := w.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if replicas() != "2" || failures(t, "HelmRelease shop/shopfront") != before || w.helm.renders != 2 || !logs.find("not released yet", "configDigest") {
		t.Errorf("before the release: replicas %v, failures %v (was %v), %d renders", replicas(), failures(t, "HelmRelease shop/shopfront"), before, w.helm.renders)
	}
	released(t, hr, 2)
	updateRelease(t, c, hr)
	if err := w.SyncOnce(ctx); err != nil || replicas() != "3" {
		t.Errorf("after the release: replicas %v (%v)\n%s", replicas(), err, strings.Join(logs.lines, "\n"))
	}
}

// TestHelmReleaseFailsAlone: a HelmRelease whose chart gitgate cannot get
// (a Bucket, a remote dependency), whose HelmChart's artifact is not what
// gitgate built, or whose release helm-controller recorded differs from
// the render, fails alone, counted and logged, keeping its last good
// render; one with spec.kubeConfig is skipped, one helm-controller has
// not installed yet is no failure; the others load.
func TestHelmReleaseFailsAlone(t *testing.T) {
	g, sha := chartRepo(t)
	good := helmRelease(t, "good", map[string]any{"replicaCount": 1})
	bucket := helmRelease(t, "bucket", nil, func(hr *helmv2.HelmRelease) {
		hr.Spec.Chart.Spec.SourceRef.Kind = "Bucket"
		hr.Status.History = nil // never installed: still a failure, gitgate never will
	})
	stale := helmRelease(t, "stale", nil)
	staleChart := helmChartOf(stale, sha)
	staleChart.Status.ObservedSourceArtifactRevision = "main@sha1:" + strings.Repeat("0", 40)
	other := helmRelease(t, "other", nil, func(hr *helmv2.HelmRelease) { hr.Status.History[0].ConfigDigest = "sha256:" + strings.Repeat("1", 64) })
	remote := helmRelease(t, "remote", nil, func(hr *helmv2.HelmRelease) {
		hr.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "kc"}}
	})
	fresh := helmRelease(t, "fresh", nil, func(hr *helmv2.HelmRelease) { hr.Status.History = nil })
	logs := &logLines{}
	w, _ := newHelmWatcher(t, logs, gitRepository("fleet", g.HTTPURL(), authName), authSecret(),
		good, helmChartOf(good, sha), bucket, stale, staleChart, other, helmChartOf(other, sha), remote, helmChartOf(remote, sha), fresh)
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := w.Composer.Store.Load()
	if snap == nil || snap.State(ReleaseRootOf(good)) == nil || len(snap.Roots()) != 1 {
		t.Fatalf("want only the good HelmRelease loaded, got %v", snap.Roots())
	}
	for _, tc := range []struct{ hr, why string }{
		{"bucket", "Bucket"},
		{"stale", "source-controller's artifact differs"},
		{"other", "the deployed release differs from gitgate's render"},
	} {
		if failures(t, "HelmRelease shop/"+tc.hr) < 1 || !logs.find("root failed", "HelmRelease shop/"+tc.hr, tc.why) {
			t.Errorf("%s: not counted or logged with %q:\n%s", tc.hr, tc.why, strings.Join(logs.lines, "\n"))
		}
	}
	if failures(t, "HelmRelease shop/fresh") != 0 || !logs.find("not installed yet", "HelmRelease shop/fresh") {
		t.Error("a HelmRelease helm-controller has not installed yet is a failure, or not logged")
	}
	if !logs.find("HelmRelease skipped", "shop/remote", "spec.kubeConfig") {
		t.Error("the kubeConfig HelmRelease's skip is not logged")
	}
}

// TestHelmReleaseSourceOutOfStep: source-controller's artifact not at
// the revision gitgate fetched is no failure while helm-controller has
// released nothing since the last good render (that render is still what
// the cluster holds); once it records a new release, the mismatch fails
// the root, which keeps its last good render.
func TestHelmReleaseSourceOutOfStep(t *testing.T) {
	g, sha := chartRepo(t)
	hr := helmRelease(t, "shopfront", map[string]any{"replicaCount": 2})
	hc := helmChartOf(hr, sha)
	logs := &logLines{}
	w, c := newHelmWatcher(t, logs, gitRepository("fleet", g.HTTPURL(), authName), authSecret(), hr, hc)
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil || entryOf(w, "apps", "Deployment", "shopfront") == nil {
		t.Fatalf("not loaded (%v)", err)
	}
	before := failures(t, "HelmRelease shop/shopfront")
	if err := c.Get(ctx, client.ObjectKeyFromObject(hc), hc); err != nil {
		t.Fatal(err)
	}
	hc.Status.ObservedSourceArtifactRevision = "main@sha1:" + strings.Repeat("f", 40)
	if err := c.Status().Update(ctx, hc); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if failures(t, "HelmRelease shop/shopfront") != before || !logs.find("not released yet", "artifact differs") {
		t.Errorf("an artifact out of step with an unchanged release failed the root: %v", failures(t, "HelmRelease shop/shopfront")-before)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(hr), hr); err != nil {
		t.Fatal(err)
	}
	released(t, hr, 2)
	updateRelease(t, c, hr)
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if failures(t, "HelmRelease shop/shopfront") != before+1 || entryOf(w, "apps", "Deployment", "shopfront") == nil {
		t.Errorf("a new release with the artifact out of step: %v failures, entry %v", failures(t, "HelmRelease shop/shopfront")-before, entryOf(w, "apps", "Deployment", "shopfront"))
	}
}

// unsynced is an informer whose cache never synced (RBAC refuses its
// list).
type unsynced struct{ cache.Informer }

func (unsynced) HasSynced() bool { return false }

// TestHelmWaitsForItsCaches: while the caches of the HelmReleases or
// their sources have not synced (gitgate's RBAC on them missing), the
// HelmReleases wait, logged, and the pass goes on without blocking the
// Kustomizations.
func TestHelmWaitsForItsCaches(t *testing.T) {
	g, sha := chartRepo(t)
	hr := helmRelease(t, "shopfront", map[string]any{"replicaCount": 2})
	logs := &logLines{}
	w, _ := newHelmWatcher(t, logs, gitRepository("fleet", g.HTTPURL(), authName), authSecret(), hr, helmChartOf(hr, sha),
		kustomization("crds", "charts/shopfront/crds", "fleet"))
	w.helm.informers = []cache.Informer{unsynced{}}
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := w.Composer.Store.Load()
	if snap == nil || snap.State(ReleaseRootOf(hr)) != nil || len(snap.Roots()) != 1 || !logs.find("not listed yet") {
		t.Errorf("snapshot %v; want the Kustomization alone, and the wait logged:\n%s", snap, strings.Join(logs.lines, "\n"))
	}
}
