package provenance

import (
	"reflect"
	"slices"

	"github.com/gitgate/gitgate/provenance/compare"
)

// The marks a GitOps agent reads on the objects it applies to decide what
// it owns, prunes, leaves alone or how it syncs them. On an object Git
// declares they are Git's to declare: a person or a controller that sets,
// changes or removes one makes the agent stop correcting the object
// (kustomize.toolkit.fluxcd.io/reconcile disabled, ssa Ignore), keep it
// when Git drops it (prune disabled, Argo CD's Prune=false, Delete=false,
// IgnoreExtraneous), or hand it to another root (Flux's owner labels, Argo
// CD's tracking-id and instance label), which then prunes or adopts it.
// Each outlives whoever set it, so the check holds in either field mode,
// on create and update, for people and controllers, and no break-glass
// grant or roll-out mode lets it through (ReasonAgentMark): the agent
// would stop reverting long after the grant expired.

// ArgoInstanceLabel is the label Argo CD tracks its resources by when
// application.resourceTrackingMethod is label or annotation+label
// (application.instanceLabelKey, app.kubernetes.io/instance unless set
// otherwise). An Argo CD that sets another key is not covered.
const ArgoInstanceLabel = "app.kubernetes.io/instance"

// agentMarks are the keys, read in labels and annotations alike (Flux
// reads its opt-outs from either; the others fail closed in both).
var agentMarks = []string{
	"kustomize.toolkit.fluxcd.io/name",
	"kustomize.toolkit.fluxcd.io/namespace",
	"kustomize.toolkit.fluxcd.io/prune",
	"kustomize.toolkit.fluxcd.io/reconcile",
	"kustomize.toolkit.fluxcd.io/ssa",
	"helm.toolkit.fluxcd.io/name",
	"helm.toolkit.fluxcd.io/namespace",
	argoTrackingID,
	"argocd.argoproj.io/compare-options",
	"argocd.argoproj.io/sync-options",
	ArgoInstanceLabel,
}

// markFields are where the marks are read.
var markFields = []string{"labels", "annotations"}

// IsAgentMark reports whether path is one of the agent marks, in
// metadata.labels or metadata.annotations.
func IsAgentMark(path compare.Path) bool {
	if len(path) != 3 || path[0].Field != "metadata" || !slices.Contains(markFields, path[1].Field) {
		return false
	}
	return slices.Contains(agentMarks, path[2].Field)
}

// agentMarkDiffs reports each agent mark that obj sets, changes or removes
// against old (nil on create) and that does not hold the value Git
// declares. A mark Git declares must hold Git's value; one it does not may
// only stay as it was (the agent's own, set by its apply). No --ignore rule
// frees a mark.
func agentMarkDiffs(declared, old, obj map[string]any) []compare.Diff {
	var diffs []compare.Diff
	for _, field := range markFields {
		decl, objM, oldM := metaMap(declared, field), metaMap(obj, field), metaMap(old, field)
		for _, key := range agentMarks {
			got, present := objM[key]
			before, had := oldM[key]
			if present == had && reflect.DeepEqual(got, before) {
				continue
			}
			if want, isDeclared := decl[key]; isDeclared && present && reflect.DeepEqual(got, want) {
				continue
			}
			diffs = append(diffs, markDiff(field, key, decl, objM, oldM))
		}
	}
	return diffs
}

// markDiff is the diff of the mark key in metadata.field: Undeclared
// where Git does not declare it, Missing where the request removes Git's
// value, Mismatch where it holds another.
func markDiff(field, key string, decl, objM, oldM map[string]any) compare.Diff {
	d := compare.Diff{
		Path: compare.Path{{Field: "metadata", Index: -1}, {Field: field, Index: -1}, {Field: key, Index: -1}},
		Kind: compare.Undeclared,
	}
	got, present := objM[key]
	before, had := oldM[key]
	if present {
		d.Request = got
	}
	if had {
		d.Old = before
	}
	if want, isDeclared := decl[key]; isDeclared {
		d.Git, d.Kind = want, compare.Mismatch
		if !present {
			d.Kind = compare.Missing
		}
	}
	return d
}

// withMarks adds agentMarkDiffs' verdict on each mark the comparison did
// not already refuse, so that a mark is judged whatever --fields and
// --ignore say, and once.
func withMarks(diffs []compare.Diff, declared, old, obj map[string]any) []compare.Diff {
	for _, d := range agentMarkDiffs(declared, old, obj) {
		if !slices.ContainsFunc(diffs, func(c compare.Diff) bool { return c.Path.String() == d.Path.String() }) {
			diffs = append(diffs, d)
		}
	}
	return diffs
}

func metaMap(obj map[string]any, field string) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	m, _ := meta[field].(map[string]any)
	return m
}
