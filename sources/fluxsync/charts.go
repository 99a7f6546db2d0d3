package fluxsync

import (
	"context"
	"fmt"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// chartEntry is a chart gitgate fetched, shared by every HelmRelease
// whose chart comes from the same source at the same revision with the
// same spec: a render never changes it.
type chartEntry struct {
	// key identifies what the chart was fetched from (fetchChart).
	key   string
	chart *helmchart.Chart
	// source names the chart's source, "HelmRepository flux-system/charts".
	source string
	// git is the GitRepository revision a chart of a Git source was
	// built from.
	git provenance.Revision
	err error
	// retry is when a failed fetch may be tried again.
	retry time.Time
	used  bool
}

// revision is the revision a render of the chart is declared at: the
// chart, its version and the revision of its source.
func (c *chartEntry) revision(res *helmrender.Result) provenance.Revision {
	at := c.chart.Revision
	switch {
	case c.git.Hash != "":
		at = c.git.String()
	case c.chart.Digest != "":
		at += "@" + c.chart.Digest
	}
	return provenance.Revision{Ref: c.git.Ref, Hash: c.git.Hash,
		Label: fmt.Sprintf("chart %s %s of %s at %s", res.ChartName, res.ChartVersion, c.source, at)}
}

// unsupportedChart says why gitgate can never get hr's chart from what
// hr names, or nil: a chart of a Bucket, a chartRef to anything but an
// OCIRepository or a HelmChart, neither chart nor chartRef. What a
// HelmChart of a chartRef names is known only from the cluster
// (chartOf).
func unsupportedChart(hr *helmv2.HelmRelease) error {
	switch ref := hr.Spec.ChartRef; {
	case ref != nil && ref.Kind != sourcev1.OCIRepositoryKind && ref.Kind != sourcev1.HelmChartKind:
		return fmt.Errorf("chartRef kind %s: %w", ref.Kind, ErrUnsupported)
	case ref != nil:
		return nil
	case hr.Spec.Chart == nil:
		return fmt.Errorf("HelmRelease has neither spec.chart nor spec.chartRef: %w", ErrUnsupported)
	case hr.Spec.Chart.Spec.SourceRef.Kind == sourcev1.BucketKind:
		return helmchart.ErrBucket
	}
	return nil
}

// chartOf is hr's chart as gitgate fetches it from the source itself,
// checked against what source-controller says it holds (its artifact's
// revision and digest; for a HelmChart, the chart's name and the Git
// revision it was built from): a mismatch fails the root until both
// agree. spec.chart goes through the HelmChart helm-controller makes for
// it; spec.chartRef names an OCIRepository or a HelmChart.
func (w *Watcher) chartOf(ctx context.Context, hr *helmv2.HelmRelease, objs *helmObjects, now time.Time) (*chartEntry, error) {
	if ref := hr.Spec.ChartRef; ref != nil {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = hr.Namespace
		}
		switch ref.Kind {
		case sourcev1.OCIRepositoryKind:
			return w.ociChart(ctx, objs.ocis[key], key, now)
		case sourcev1.HelmChartKind:
			hc := objs.charts[key]
			if hc == nil {
				return nil, fmt.Errorf("HelmChart %s: %w in the watched namespaces", key, errNoSource)
			}
			return w.helmChart(ctx, hc.Spec, hc, objs, now)
		}
		return nil, fmt.Errorf("chartRef kind %s: %w", ref.Kind, ErrUnsupported)
	}
	spec, ok := helmchart.Spec(hr)
	if !ok {
		return nil, fmt.Errorf("HelmRelease has neither spec.chart nor spec.chartRef: %w", ErrUnsupported)
	}
	if spec.SourceRef.Kind == sourcev1.BucketKind {
		return nil, helmchart.ErrBucket
	}
	ns := hr.Spec.Chart.Spec.SourceRef.Namespace
	if ns == "" {
		ns = hr.Namespace
	}
	key := types.NamespacedName{Namespace: ns, Name: hr.GetHelmChartName()}
	hc := objs.charts[key]
	if hc == nil {
		return nil, fmt.Errorf("HelmChart %s (helm-controller makes it for spec.chart): %w in the watched namespaces", key, errNoSource)
	}
	return w.helmChart(ctx, spec, hc, objs, now)
}

// helmChart fetches the chart of spec, the spec of HelmChart hc, from its
// source and checks it against hc's status.
func (w *Watcher) helmChart(ctx context.Context, spec sourcev1.HelmChartSpec, hc *sourcev1.HelmChart, objs *helmObjects, now time.Time) (*chartEntry, error) {
	src := types.NamespacedName{Namespace: hc.Namespace, Name: spec.SourceRef.Name}
	var e *chartEntry
	switch spec.SourceRef.Kind {
	case sourcev1.HelmRepositoryKind:
		repo := objs.repos[src]
		if repo == nil {
			return nil, fmt.Errorf("HelmRepository %s: %w in the watched namespaces", src, errNoSource)
		}
		key := hashOf("repo", src, repo.Generation, repo.Spec, artifactRevision(repo.Status.Artifact), spec, hc.Generation, artifactRevision(hc.Status.Artifact))
		e = w.fetchChart(key, now, func() (*chartEntry, error) {
			c, err := w.fetcher().FromHelmRepository(ctx, repo, spec, hc.Generation)
			return &chartEntry{chart: c, source: "HelmRepository " + src.String()}, err
		})
	case sourcev1.GitRepositoryKind:
		r := w.repos[src]
		switch {
		case r == nil:
			return nil, fmt.Errorf("GitRepository %s: %w in the watched namespaces", src, errNoSource)
		case r.err != nil:
			return nil, fmt.Errorf("GitRepository %s: %w", src, r.err)
		case r.files == nil:
			return nil, fmt.Errorf("GitRepository %s: not read yet", src)
		}
		key := hashOf("git", src, r.rev, r.filesKey, spec, hc.Generation)
		e = w.fetchChart(key, now, func() (*chartEntry, error) {
			c, err := helmchart.FromGit(r.files, spec, hc.Generation, r.rev.String())
			return &chartEntry{chart: c, source: "GitRepository " + src.String(), git: r.rev}, err
		})
	case sourcev1.BucketKind:
		return nil, helmchart.ErrBucket
	default:
		return nil, fmt.Errorf("HelmChart source kind %q: %w", spec.SourceRef.Kind, ErrUnsupported)
	}
	if e.err != nil {
		return nil, e.err
	}
	if err := e.chart.CheckHelmChart(hc); err != nil {
		return nil, fmt.Errorf("HelmChart %s/%s: %w", hc.Namespace, hc.Name, err)
	}
	return e, nil
}

// ociChart fetches the chart of OCIRepository or (spec.chartRef) and
// checks it against or's artifact.
func (w *Watcher) ociChart(ctx context.Context, or *sourcev1.OCIRepository, key types.NamespacedName, now time.Time) (*chartEntry, error) {
	if or == nil {
		return nil, fmt.Errorf("OCIRepository %s: %w in the watched namespaces", key, errNoSource)
	}
	e := w.fetchChart(hashOf("oci", key, or.Generation, or.Spec, artifactRevision(or.Status.Artifact)), now, func() (*chartEntry, error) {
		c, err := w.fetcher().FromOCIRepository(ctx, or)
		return &chartEntry{chart: c, source: "OCIRepository " + key.String()}, err
	})
	if e.err != nil {
		return nil, e.err
	}
	if err := e.chart.CheckArtifact(or.Status.Artifact); err != nil {
		return nil, fmt.Errorf("OCIRepository %s: %w", key, err)
	}
	return e, nil
}

// fetchChart is the chart of key, fetched with fetch unless a pass
// already did (a failure is tried again after MinInterval).
func (w *Watcher) fetchChart(key string, now time.Time, fetch func() (*chartEntry, error)) *chartEntry {
	if e := w.helm.charts[key]; e != nil && (e.err == nil || now.Before(e.retry)) {
		e.used = true
		return e
	}
	e, err := fetch()
	if err != nil {
		e = &chartEntry{err: err, retry: now.Add(w.minInterval())}
	}
	e.key, e.used = key, true
	w.helm.charts[key] = e
	return e
}

// pruneCharts drops the charts no HelmRelease used this pass.
func (w *Watcher) pruneCharts() {
	for k, e := range w.helm.charts {
		if !e.used {
			delete(w.helm.charts, k)
			continue
		}
		e.used = false
	}
}

func (w *Watcher) fetcher() *helmchart.Fetcher {
	if w.Helm != nil && w.Helm.Fetcher != nil {
		return w.Helm.Fetcher
	}
	return &helmchart.Fetcher{Reader: w.APIReader}
}

// artifactRevision identifies an artifact for a fetch key: its revision
// and digest.
func artifactRevision(a *fluxmeta.Artifact) string {
	if a == nil {
		return ""
	}
	return a.Revision + "@" + a.Digest
}
