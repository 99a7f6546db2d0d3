package helmrender

import (
	"context"
	"errors"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	chart "helm.sh/helm/v4/pkg/chart/v2"

	"github.com/gitgate/gitgate/provenance"
)

// Input is everything one render reads; Render reads nothing else.
type Input struct {
	// HelmRelease is the object as Git declares it, with the status the
	// cluster reports (Next, Deployed and Check read status.history).
	HelmRelease *helmv2.HelmRelease
	// Chart is the chart as helm-controller loads it: values files
	// merged, version as recorded (see sources/helmchart). Render never
	// changes it.
	Chart *chart.Chart
	// OCIDigest is the manifest digest of an OCIRepository chart
	// ("sha256:…"), which helm-controller records as ociDigest; "" for
	// other sources.
	OCIDigest string
	// Values from ComposeValues.
	Values Values
	// Target is the action to reproduce: Deployed(hr) for what the
	// cluster holds, Next(hr) for what the agent applies next.
	Target Target
	// Capabilities of the cluster (discovery); the chart's own CRDs are
	// added when its CRD policy installs them.
	Capabilities Capabilities
	// Scope says which kinds are namespaced (discovery); kinds the
	// chart's CRDs define are known without it.
	Scope provenance.Scope
}

// Result is one render of a HelmRelease.
type Result struct {
	// ReleaseName and Namespace of the Helm release.
	ReleaseName, Namespace string
	// ChartName and ChartVersion as helm-controller records them
	// (status.history[].chartName, chartVersion).
	ChartName, ChartVersion string
	// ConfigDigest of the values (status.history[].configDigest).
	ConfigDigest string
	// OCIDigest as given (status.history[].ociDigest).
	OCIDigest string
	Target    Target
	// Objects are what the agent applies and keeps as the release: the
	// manifest after post-rendering, with Helm's ownership metadata, and
	// the chart's CRDs as its CRD policy applies them.
	Objects []Object
	// Hooks are the chart's hooks (and tests, when spec.test.enable):
	// the agent creates them during an action and deletes them by their
	// delete policy, so they are never declared state, only agent-only
	// identities.
	Hooks []Object
	// Ignore are spec.driftDetection.ignore, resolved to the rendered
	// objects they target: fields the agent leaves to others.
	Ignore []provenance.IgnoreRule
	// ServiceAccountName is spec.serviceAccountName: the agent applies
	// this release as that ServiceAccount ("" for helm-controller's own).
	ServiceAccountName string
	// HideValues: values come from a Secret (Values.FromSecret), so any
	// value of any object may be secret.
	HideValues bool
	// Lookup: a template called lookup. The render saw an empty cluster,
	// so objects may exist in the agent's render that are absent here,
	// or the reverse, beyond those marked Object.Lookup.
	Lookup bool
}

// Object is one rendered object.
type Object struct {
	// Object is the object decoded from JSON (numbers are int64 or
	// float64).
	Object map[string]any
	// Source is the chart file it came from
	// ("podinfo/templates/deployment.yaml", "podinfo/crds/crd.yaml").
	Source string
	// Indeterminate lists JSON pointers (RFC 6901) of fields that differ
	// between two renders of the same inputs (rand*, uuidv4, now, genCA,
	// bcrypt…): the agent's render holds another value. "" stands for the
	// whole object (it appeared in one render only).
	Indeterminate []string
	// Lookup: its template file called lookup, so the cluster's state
	// decides its values; the render saw an empty cluster.
	Lookup bool
	// CreateOnly: the agent creates it when absent and never corrects it
	// (a CRD under the Create policy without server-side apply, the
	// Namespace of install.createNamespace).
	CreateOnly bool
	// DriftIgnored: it carries helm.toolkit.fluxcd.io/driftDetection:
	// disabled, so helm-controller's drift detection skips it (an upgrade
	// still applies it).
	DriftIgnored bool
}

// Errors a caller tells apart.
var (
	// ErrOtherCluster: spec.kubeConfig points the release at another
	// cluster; skip the HelmRelease, it declares nothing here.
	ErrOtherCluster = errors.New("HelmRelease applies to another cluster (spec.kubeConfig); skip")
	// ErrUnsupported: the HelmRelease asks for something gitgate cannot
	// reproduce from Git alone.
	ErrUnsupported = errors.New("not supported")
	// ErrRender: Helm or a post-renderer failed, or a template panicked.
	ErrRender = errors.New("render failed")
	// ErrUnknownKind: an object's kind is neither served by the cluster
	// nor defined by the chart's CRDs; Helm's apply would fail on it too.
	ErrUnknownKind = errors.New("kind not known to the cluster or the chart")
)

// Render renders in.HelmRelease as helm-controller v1.6.x would render it
// for in.Target, with Helm v4's own install or upgrade action in dry-run
// (no cluster is contacted: lookup sees nothing, DNS is off), and returns
// what the agent applies. A template that panics, a bad chart or a failed
// post-renderer fail the render, never the process. When values come from
// a Secret, error texts are withheld (ErrSecretValues).
func Render(ctx context.Context, in Input) (res *Result, err error) {
	hr := in.HelmRelease
	if hr == nil || in.Chart == nil || in.Chart.Metadata == nil {
		return nil, errors.New("render: no HelmRelease or chart")
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("%w: recovered from a panic: %v", ErrRender, r)
		}
		if err != nil {
			err = fmt.Errorf("render HelmRelease %s/%s: %w", hr.Namespace, hr.Name, withheld(err, in.Values.FromSecret))
		}
	}()
	if hr.Spec.KubeConfig != nil {
		return nil, ErrOtherCluster
	}
	if in.Target.Upgrade && hr.GetUpgrade().PreserveValues {
		// Helm merges the last release's values from its storage.
		return nil, fmt.Errorf("upgrade.preserveValues: %w", ErrUnsupported)
	}
	return render(ctx, in)
}

// withheld keeps err's sentinels but drops its text when values come
// from a Secret: Helm's and kustomize's messages quote values and
// rendered YAML.
func withheld(err error, secret bool) error {
	if !secret || errors.Is(err, ErrSecretValues) {
		return err
	}
	for _, s := range []error{ErrOtherCluster, ErrUnsupported, ErrUnknownKind, ErrRender} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w (%w)", s, ErrSecretValues)
		}
	}
	return fmt.Errorf("%w (%w)", ErrRender, ErrSecretValues)
}

func render(ctx context.Context, in Input) (*Result, error) {
	hr := in.HelmRelease
	res := &Result{
		ReleaseName:        ReleaseName(hr),
		Namespace:          hr.GetReleaseNamespace(),
		ChartName:          in.Chart.Metadata.Name,
		ChartVersion:       in.Chart.Metadata.Version,
		ConfigDigest:       in.Values.ConfigDigest(),
		OCIDigest:          in.OCIDigest,
		Target:             in.Target,
		ServiceAccountName: hr.Spec.ServiceAccountName,
		HideValues:         in.Values.FromSecret,
	}
	p, err := newPlan(in)
	if err != nil {
		return nil, err
	}
	first, err := p.run(ctx, false)
	if err != nil {
		return nil, err
	}
	objs, hooks := first.objects, first.hooks
	if first.calls.any() {
		second, err := p.run(ctx, true)
		if err != nil {
			return nil, err
		}
		markIndeterminate(objs, second.objects)
		markIndeterminate(hooks, second.hooks)
		res.Lookup = markLookup(objs, hooks, first, second)
	}
	if res.Objects, err = p.finish(objs, true); err != nil {
		return nil, err
	}
	if res.Hooks, err = p.finish(hooks, false); err != nil {
		return nil, err
	}
	res.Objects = append(res.Objects, p.crdObjects()...)
	res.Objects = append(res.Objects, p.createdNamespace()...)
	if res.Ignore, err = ignoreRules(hr, res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}
