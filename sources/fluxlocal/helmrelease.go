package fluxlocal

import (
	"context"
	"errors"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmrender"
	"github.com/gitgate/gitgate/sources/offlinescope"
)

// freshGeneration is the generation of a HelmChart just created, as
// helm-controller creates one for a HelmRelease's spec.chart (and as a
// HelmChart committed to Git starts): it is the build metadata of a
// chart with values files.
const freshGeneration = 1

// createdOnce is why gitgate declares none of an object helm-controller
// creates when absent and never corrects.
const createdOnce = "helm-controller creates it when absent and never corrects it (a CRD under the Create policy, the Namespace of install.createNamespace)"

// renderHelmRelease renders a HelmRelease root as helm-controller v1.6.x
// would install it: its chart fetched by gitgate (from DIR for a
// GitRepository, else over the network), its values from the ConfigMaps
// and Secrets the rendered roots declare, as a fresh install (revision 1:
// status.history is not known offline).
func (w *walker) renderHelmRelease(ctx context.Context, rt *Root) ([]Object, error) {
	hr := &helmv2.HelmRelease{}
	if err := decodeAs(rt.obj, helmv2.GroupVersion.String(), hr); err != nil {
		return nil, err
	}
	hr.Namespace = rt.Namespace
	hr.Status = helmv2.HelmReleaseStatus{}
	if hr.Spec.KubeConfig != nil {
		return nil, skipError("it applies to another cluster (spec.kubeConfig)")
	}
	chart, err := w.chartOf(ctx, hr, rt)
	if err != nil {
		return nil, err
	}
	vals, err := helmrender.ComposeValues(ctx, &inputs{pool: w.pool, missed: rt.missed}, hr)
	if err != nil {
		return nil, fmt.Errorf("valuesFrom: %w", err)
	}
	rt.HideValues = vals.FromSecret
	res, err := helmrender.Render(ctx, helmrender.Input{
		HelmRelease: hr, Chart: chart.Chart, OCIDigest: chart.OCIDigest, Values: vals,
		Target:       helmrender.Next(hr),
		Capabilities: w.opts.Capabilities,
		Scope:        w.scope(),
	})
	if err != nil {
		return nil, err
	}
	rt.Helm = res
	objs := make([]Object, len(res.Objects))
	for i, o := range res.Objects {
		objs[i] = Object{Object: o.Object, Source: o.Source, Indeterminate: o.Indeterminate, Lookup: o.Lookup}
		switch {
		case o.CreateOnly:
			objs[i].NotEnforced = createdOnce
		case containsString(o.Indeterminate, ""):
			// In one of two renders only: the agent's render may hold it
			// or not, with values of its own.
			objs[i].AgentOnly = true
		}
	}
	return objs, nil
}

// chartOf fetches hr's chart: spec.chart through the HelmChart
// helm-controller would create, or spec.chartRef.
func (w *walker) chartOf(ctx context.Context, hr *helmv2.HelmRelease, rt *Root) (*helmchart.Chart, error) {
	if spec, ok := helmchart.Spec(hr); ok {
		src := namespaced(hr.Spec.Chart.Spec.SourceRef.Namespace, spec.SourceRef.Name, hr.Namespace)
		return w.chartFromSpec(ctx, spec, src, rt)
	}
	ref := hr.Spec.ChartRef
	if ref == nil {
		return nil, errors.New("neither spec.chart nor spec.chartRef")
	}
	src := namespaced(ref.Namespace, ref.Name, hr.Namespace)
	rt.Source = fmt.Sprintf("%s %s", ref.Kind, src)
	switch ref.Kind {
	case sourcev1.OCIRepositoryKind:
		or := &sourcev1.OCIRepository{}
		if err := w.pool.decode(w.sourceKey(ref.Kind, src), sourcev1.GroupVersion.String(), or); err != nil {
			return nil, err
		}
		if err := public(rt.Source, or.Spec.SecretRef, or.Spec.CertSecretRef); err != nil {
			return nil, err
		}
		return w.fetcher.FromOCIRepository(ctx, or)
	case sourcev1.HelmChartKind:
		hc := &sourcev1.HelmChart{}
		if err := w.pool.decode(w.sourceKey(ref.Kind, src), sourcev1.GroupVersion.String(), hc); err != nil {
			return nil, err
		}
		return w.chartFromSpec(ctx, hc.Spec, types.NamespacedName{Namespace: src.Namespace, Name: hc.Spec.SourceRef.Name}, rt)
	}
	return nil, fmt.Errorf("chartRef kind %s: %w", ref.Kind, ErrUnsupported)
}

// chartFromSpec builds a HelmChart's chart from its source src: a
// GitRepository from DIR, a HelmRepository over the network.
func (w *walker) chartFromSpec(ctx context.Context, spec sourcev1.HelmChartSpec, src types.NamespacedName, rt *Root) (*helmchart.Chart, error) {
	rt.Source = fmt.Sprintf("%s %s", spec.SourceRef.Kind, src)
	switch spec.SourceRef.Kind {
	case sourcev1.GitRepositoryKind:
		files, err := w.sourceFiles(src)
		if err != nil {
			return nil, err
		}
		// DIR has no commit yet: the tree's hash stands in for it where
		// reconcileStrategy Revision puts the commit into the version.
		return helmchart.FromGit(files, spec, freshGeneration, w.opts.Revision.String())
	case sourcev1.HelmRepositoryKind:
		repo := &sourcev1.HelmRepository{}
		if err := w.pool.decode(w.sourceKey(spec.SourceRef.Kind, src), sourcev1.GroupVersion.String(), repo); err != nil {
			return nil, err
		}
		if err := public(rt.Source, repo.Spec.SecretRef, repo.Spec.CertSecretRef); err != nil {
			return nil, err
		}
		return w.fetcher.FromHelmRepository(ctx, repo, spec, freshGeneration)
	}
	return nil, fmt.Errorf("chart source %s: %w", rt.Source, ErrUnsupported)
}

func (w *walker) sourceKey(kind string, src types.NamespacedName) objKey {
	return objKey{group: sourcev1.GroupVersion.Group, kind: kind, namespace: src.Namespace, name: src.Name}
}

// public refuses a repository that names Secrets: their credentials are
// in the cluster, which an offline render never reads.
func public(source string, refs ...*meta.LocalObjectReference) error {
	for _, ref := range refs {
		if ref != nil {
			return fmt.Errorf("%s names Secret %s: %w", source, ref.Name, ErrCredentials)
		}
	}
	return nil
}

// scope is Options.Scope, then the built-in kinds and the CRDs the
// rendered roots declare.
func (w *walker) scope() provenance.Scope {
	offline := offlinescope.New(w.pool.all)
	if w.opts.Scope == nil {
		return offline
	}
	return firstKnown{w.opts.Scope, offline}
}

// firstKnown asks each scope in turn until one knows the kind.
type firstKnown []provenance.Scope

func (s firstKnown) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	for _, sc := range s {
		n, known, err := sc.Namespaced(gk)
		if err != nil || known {
			return n, known, err
		}
	}
	return false, false, nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
