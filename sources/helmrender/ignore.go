package helmrender

import (
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitgate/gitgate/provenance"
)

// ignoreRules turns spec.driftDetection.ignore into gitgate's ignore
// rules. helm-controller selects a rule's objects with fluxcd/pkg/ssa's
// jsondiff selector (group, version, kind, name and namespace as anchored
// regular expressions, label and annotation selectors; no target: every
// object of the release); gitgate runs the same selector over the
// rendered objects and writes one rule per object it selects, named
// exactly, with the rule's paths. The rules hold whatever the drift
// detection mode: they say which fields the HelmRelease leaves to others.
func ignoreRules(hr *helmv2.HelmRelease, objs []Object) ([]provenance.IgnoreRule, error) {
	dd := hr.Spec.DriftDetection
	if dd == nil {
		return nil, nil
	}
	var out []provenance.IgnoreRule
	for i, rule := range dd.Ignore {
		var sel *jsondiff.SelectorRegex
		if t := rule.Target; t != nil {
			var err error
			sel, err = jsondiff.NewSelectorRegex(&jsondiff.Selector{
				Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name, Namespace: t.Namespace,
				AnnotationSelector: t.AnnotationSelector, LabelSelector: t.LabelSelector,
			})
			if err != nil {
				return nil, fmt.Errorf("driftDetection.ignore[%d]: %w", i, err)
			}
		}
		for _, o := range objs {
			u := &unstructured.Unstructured{Object: o.Object}
			if sel != nil && !sel.MatchUnstructured(u) {
				continue
			}
			gvk := u.GroupVersionKind()
			out = append(out, provenance.IgnoreRule{
				Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName(),
				JSONPointers: append([]string(nil), rule.Paths...),
			})
		}
	}
	return out, nil
}
