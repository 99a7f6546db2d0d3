package helmrender

import (
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// plan is what every render pass of one Input shares.
type plan struct {
	in       Input
	name, ns string
	// policy and ssa say how the target action applies crds/.
	policy helmv2.CRDsPolicy
	ssa    bool
	// crds are the CustomResourceDefinitions of crds/ the policy applies;
	// crdScope the scope of the kinds they define.
	crds     []Object
	crdScope map[schema.GroupKind]bool
	caps     *common.Capabilities
	// first is the first pass's recorder, which the second perturbs.
	first *recorder
}

func newPlan(in Input) (*plan, error) {
	hr := in.HelmRelease
	p := &plan{in: in, name: ReleaseName(hr), ns: hr.GetReleaseNamespace(), crdScope: map[schema.GroupKind]bool{}}
	var err error
	if p.policy, p.ssa, err = crdPolicy(hr, in.Target); err != nil {
		return nil, err
	}
	var versions []string
	if p.policy != helmv2.Skip {
		if p.crds, versions, err = p.chartCRDs(); err != nil {
			return nil, err
		}
	}
	if p.caps, err = in.Capabilities.helm(versions); err != nil {
		return nil, err
	}
	return p, nil
}

// crdPolicy is the CRD policy of the target action (install.crds,
// default Create; upgrade.crds, default Skip) and whether it applies them
// server-side. helm-controller installs with server-side apply unless
// install.serverSideApply is false; an upgrade's "auto" (the default)
// follows the last release's apply method, which status does not record:
// gitgate takes the install setting, by which the release was made.
func crdPolicy(hr *helmv2.HelmRelease, t Target) (helmv2.CRDsPolicy, bool, error) {
	ssa := true
	if s := hr.GetInstall().ServerSideApply; s != nil {
		ssa = *s
	}
	policy := hr.GetInstall().CRDs
	if t.Upgrade {
		policy = hr.GetUpgrade().CRDs
		if policy == "" {
			policy = helmv2.Skip
		}
		switch hr.GetUpgrade().ServerSideApply {
		case helmv2.ServerSideApplyEnabled:
			ssa = true
		case helmv2.ServerSideApplyDisabled:
			ssa = false
		}
	}
	switch policy {
	case "":
		policy = helmv2.Create
	case helmv2.Skip, helmv2.Create, helmv2.CreateReplace:
	default:
		return "", false, fmt.Errorf("invalid CRD policy %q: %w", policy, ErrRender)
	}
	return policy, ssa, nil
}

// chartCRDs reads the CRDs helm-controller applies before the action
// (its applyCRDs): none when the chart has no crds/ files; otherwise the
// dependencies are processed first (disabled subcharts drop out) and
// only CustomResourceDefinitions are kept (anything else in crds/ is
// ignored with a warning). It returns their group versions and
// "group/version/Kind" for Capabilities.
func (p *plan) chartCRDs() ([]Object, []string, error) {
	c := cloneChart(p.in.Chart)
	if len(c.CRDObjects()) == 0 {
		return nil, nil, nil
	}
	if err := chartutil.ProcessDependencies(c, p.in.Values.Map); err != nil {
		return nil, nil, fmt.Errorf("failed to process chart dependencies: %w", err)
	}
	var objs []Object
	var versions []string
	for _, f := range c.CRDObjects() {
		docs, err := decodeDocs(f.File.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to parse CustomResourceDefinitions from %s: %w", f.Name, err)
		}
		for _, d := range docs {
			if d["apiVersion"] != nil && groupOf(d) == "apiextensions.k8s.io" && d["kind"] == "CustomResourceDefinition" {
				setLabels(d, originLabels(p.in.HelmRelease))
				objs = append(objs, Object{Object: d, Source: f.Filename, CreateOnly: p.policy == helmv2.Create && !p.ssa})
				versions = append(versions, p.learnCRD(d)...)
			}
		}
	}
	return objs, versions, nil
}

// learnCRD records the scope of the kind crd defines and returns what it
// adds to the version set: each served version's group version and
// "group/version/Kind".
func (p *plan) learnCRD(crd map[string]any) []string {
	spec, _ := crd["spec"].(map[string]any)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	kind, _ := names["kind"].(string)
	scope, _ := spec["scope"].(string)
	p.crdScope[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
	var out []string
	vs, _ := spec["versions"].([]any)
	for _, v := range vs {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		if served, ok := vm["served"].(bool); name == "" || (ok && !served) {
			continue
		}
		gv := schema.GroupVersion{Group: group, Version: name}.String()
		out = append(out, gv, gv+"/"+kind)
	}
	return out
}

func (p *plan) crdObjects() []Object { return p.crds }

// createdNamespace is the Namespace Helm's install creates for
// install.createNamespace with a targetNamespace: labelled with its name,
// created when absent and never corrected.
func (p *plan) createdNamespace() []Object {
	hr := p.in.HelmRelease
	if p.in.Target.Upgrade || hr.Spec.TargetNamespace == "" || !hr.GetInstall().CreateNamespace {
		return nil
	}
	return []Object{{CreateOnly: true, Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": p.ns, "labels": map[string]any{"name": p.ns}},
	}}}
}

// cloneChart copies what Helm's actions change in a chart (dependencies
// dropped or aliased, their Enabled flags, imported values), sharing the
// files, so one chart renders any number of times.
func cloneChart(c *chart.Chart) *chart.Chart {
	n := *c
	if c.Metadata != nil {
		m := *c.Metadata
		m.Dependencies = make([]*chart.Dependency, len(c.Metadata.Dependencies))
		for i, d := range c.Metadata.Dependencies {
			dc := *d
			m.Dependencies[i] = &dc
		}
		n.Metadata = &m
	}
	n.Values = deepCopyMap(c.Values)
	deps := make([]*chart.Chart, 0, len(c.Dependencies()))
	for _, d := range c.Dependencies() {
		deps = append(deps, cloneChart(d))
	}
	n.SetDependencies(deps...)
	return &n
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
