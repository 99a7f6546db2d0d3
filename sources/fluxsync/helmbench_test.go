package fluxsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/helmrender"
	"github.com/gitgate/gitgate/test/harness"
)

// benchReleases is how many HelmReleases of podinfo the benchmarks hold.
const benchReleases = 200

// benchHelm is benchReleases HelmReleases of the podinfo fixture chart
// (6.9.2) from a Helm repository over HTTP, each with its own values,
// its HelmChart as source-controller reports it and the release
// helm-controller recorded, as fake cluster objects.
func benchHelm(b *testing.B) (*Watcher, client.Client, *harness.HelmRepo) {
	b.Helper()
	repo, err := harness.StartHelmRepo()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := repo.Add(harness.ChartFixture("podinfo")); err != nil {
		b.Fatal(err)
	}
	digest := archiveDigest(b, repo.URL()+"/podinfo-6.9.2.tgz")
	hrepo := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "charts", Generation: 1},
		Spec:   sourcev1.HelmRepositorySpec{URL: repo.URL(), Interval: metav1.Duration{Duration: time.Minute}},
		Status: sourcev1.HelmRepositoryStatus{Artifact: &meta.Artifact{Revision: "sha256:index", Digest: "sha256:index"}}}
	objs := []client.Object{hrepo}
	for i := range benchReleases {
		hr := benchRelease(b, i, 1)
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: hr.GetHelmChartName(), Generation: 1},
			Spec:   sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.9.2", SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "HelmRepository", Name: "charts"}},
			Status: sourcev1.HelmChartStatus{ObservedChartName: "podinfo", Artifact: &meta.Artifact{Revision: "6.9.2", Digest: digest}}}
		objs = append(objs, hr, hc)
	}
	w, c := newHelmWatcher(&testing.T{}, &logLines{}, objs...)
	w.Indexer.Scope = provenancetest.AnyKind{}
	w.Helm.Capabilities = func(context.Context) (helmrender.Capabilities, error) { return benchCaps, nil }
	return w, c, repo
}

var benchCaps = helmrender.Capabilities{Version: "v1.33.0", Major: "1", Minor: "33",
	APIVersions: []string{"v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"}}

// benchRelease is HelmRelease podinfo-i with its own values, released by
// helm-controller as version v.
func benchRelease(b *testing.B, i, v int) *helmv2.HelmRelease {
	raw, _ := json.Marshal(map[string]any{"replicaCount": i%5 + 1, "ui": map[string]any{"message": fmt.Sprintf("hello %d.%d", i, v)}})
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "podinfo-" + strconv.Itoa(i), Generation: int64(v)},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute}, Values: &apiextensionsv1.JSON{Raw: raw},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "podinfo", Version: "6.9.2",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "charts", Namespace: ns}}}}}
	vals, err := helmrender.ComposeValues(context.Background(), nil, hr)
	if err != nil {
		b.Fatal(err)
	}
	for n := 1; n <= v; n++ {
		action := helmv2.ReleaseActionInstall
		if n > 1 {
			action = helmv2.ReleaseActionUpgrade
		}
		hr.Status.History = append(helmv2.Snapshots{{Name: hr.Name, Namespace: shop, Version: n, Status: "deployed", Action: action,
			ChartName: "podinfo", ChartVersion: "6.9.2", ConfigDigest: vals.ConfigDigest()}}, hr.Status.History...)
	}
	for _, s := range hr.Status.History[1:] {
		s.Status = "superseded"
	}
	return hr
}

func archiveDigest(b *testing.B, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// peakRSS is the process's peak resident set size (VmHWM), in MB.
func peakRSS() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkHelmCold: every HelmRelease's chart fetched (once, shared),
// rendered, checked against its release, indexed, and composed in one
// pass, as at start-up, until the Composer is ready.
func BenchmarkHelmCold(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, _, repo := benchHelm(b)
		w.Composer.Expect()
		b.StartTimer()
		start := time.Now()
		if err := w.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		ready := time.Since(start)
		b.StopTimer()
		if err := w.Composer.Ready(); err != nil || len(w.Composer.Store.Load().Roots()) != benchReleases || w.helm.renders != benchReleases {
			b.Fatalf("not ready: %v; %d roots, %d renders", err, len(w.Composer.Store.Load().Roots()), w.helm.renders)
		}
		b.ReportMetric(ready.Seconds(), "s-to-ready")
		b.ReportMetric(float64(w.Composer.Store.Load().Len()), "objects")
		repo.Close()
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
}

// BenchmarkHelmValuesChange: one HelmRelease's values change and
// helm-controller releases them: one pass renders that root alone; the
// other 199 are confirmed from their keys.
func BenchmarkHelmValuesChange(b *testing.B) {
	w, c, repo := benchHelm(b)
	defer repo.Close()
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		hr := benchRelease(b, 7, i+2)
		var cur helmv2.HelmRelease
		if err := c.Get(ctx, client.ObjectKeyFromObject(hr), &cur); err != nil {
			b.Fatal(err)
		}
		cur.Spec, cur.Status = hr.Spec, hr.Status
		updateRelease(&testing.T{}, c, &cur)
		renders := w.helm.renders
		b.StartTimer()
		if err := w.SyncOnce(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if w.helm.renders != renders+1 {
			b.Fatalf("%d renders for one HelmRelease's values, want 1", w.helm.renders-renders)
		}
		if st := w.Composer.Store.Load().State(ReleaseRootOf(hr)); st == nil {
			b.Fatal("the changed HelmRelease is not loaded")
		}
	}
}
