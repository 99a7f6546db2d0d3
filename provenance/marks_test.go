package provenance_test

import (
	"encoding/json"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// marksRepo declares a ConfigMap with Flux's owner labels (as Flux's
// render gives them) and one Argo CD sync option.
const marksRepo = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}
  annotations: {argocd.argoproj.io/sync-options: ServerSideApply=true}
data: {a: "1"}
`

// storedMarks is the ConfigMap as the agent applied it: Git's labels and
// annotation, and Argo CD's tracking-id, which Git does not declare.
const storedMarks = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}
  annotations: {argocd.argoproj.io/sync-options: ServerSideApply=true, argocd.argoproj.io/tracking-id: "shop:/ConfigMap:shop/app"}
data: {a: "1"}
`

// TestAgentMarks: a GitOps agent's marks on a declared object are held to
// what Git declares (or, where Git is silent, to what is stored) for people
// in either field mode and for controllers, on update and create, whatever
// an --ignore rule frees; other labels and annotations stay as --fields
// says (free in declared mode and for controllers).
func TestAgentMarks(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"ConfigMap": true}, provenancetest.Revision("m"), map[string]string{"shop.yaml": marksRepo})
	rule, err := provenance.ParseIgnoreFlag("ConfigMap=/metadata/labels,/metadata/annotations")
	if err != nil {
		t.Fatal(err)
	}
	ig, err := provenance.CompileIgnores([]provenance.IgnoreRule{rule})
	if err != nil {
		t.Fatal(err)
	}
	checkers := map[string]*provenance.Checker{
		"person strict":    {},
		"person declared":  {Fields: provenance.FieldsDeclared},
		"controller":       {Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true},
		"metadata ignored": {Fields: provenance.FieldsDeclared, Ignores: ig},
	}
	stored := toMap(t, storedMarks)
	tests := []struct {
		name   string
		op     provenance.Operation
		edit   func(labels, annots map[string]any)
		strict bool // refused only in strict mode (an ordinary label)
		ok     bool
	}{
		{name: "unchanged", op: provenance.Update, edit: func(l, a map[string]any) {}, ok: true},
		{name: "an ordinary label", op: provenance.Update, edit: func(l, a map[string]any) { l["team"] = "x" }, strict: true},
		{name: "flux reconcile disabled label", op: provenance.Update, edit: func(l, a map[string]any) { l["kustomize.toolkit.fluxcd.io/reconcile"] = "disabled" }},
		{name: "flux reconcile disabled annotation", op: provenance.Update, edit: func(l, a map[string]any) { a["kustomize.toolkit.fluxcd.io/reconcile"] = "disabled" }},
		{name: "flux prune disabled", op: provenance.Update, edit: func(l, a map[string]any) { a["kustomize.toolkit.fluxcd.io/prune"] = "disabled" }},
		{name: "flux ssa IfNotPresent", op: provenance.Update, edit: func(l, a map[string]any) { a["kustomize.toolkit.fluxcd.io/ssa"] = "IfNotPresent" }},
		{name: "flux owner moved to another root", op: provenance.Update, edit: func(l, a map[string]any) { l["kustomize.toolkit.fluxcd.io/name"] = "other" }},
		{name: "flux owner label removed", op: provenance.Update, edit: func(l, a map[string]any) { delete(l, "kustomize.toolkit.fluxcd.io/namespace") }},
		{name: "helm-controller owner", op: provenance.Update, edit: func(l, a map[string]any) { l["helm.toolkit.fluxcd.io/name"] = "podinfo" }},
		{name: "argo tracking-id changed", op: provenance.Update, edit: func(l, a map[string]any) { a["argocd.argoproj.io/tracking-id"] = "other:/ConfigMap:shop/app" }},
		{name: "argo tracking-id removed", op: provenance.Update, edit: func(l, a map[string]any) { delete(a, "argocd.argoproj.io/tracking-id") }},
		{name: "argo instance label", op: provenance.Update, edit: func(l, a map[string]any) { l[provenance.ArgoInstanceLabel] = "other" }},
		{name: "argo sync-options Prune=false", op: provenance.Update, edit: func(l, a map[string]any) { a["argocd.argoproj.io/sync-options"] = "Prune=false" }},
		{name: "argo compare-options IgnoreExtraneous", op: provenance.Update, edit: func(l, a map[string]any) { a["argocd.argoproj.io/compare-options"] = "IgnoreExtraneous" }},
		{name: "create as Git declares it", op: provenance.Create, edit: func(l, a map[string]any) { delete(a, "argocd.argoproj.io/tracking-id") }, ok: true},
		{name: "create with reconcile disabled", op: provenance.Create, edit: func(l, a map[string]any) {
			delete(a, "argocd.argoproj.io/tracking-id")
			a["kustomize.toolkit.fluxcd.io/reconcile"] = "disabled"
		}},
		{name: "create with another tracking-id", op: provenance.Create, edit: func(l, a map[string]any) { a["argocd.argoproj.io/tracking-id"] = "other:/ConfigMap:shop/app" }},
	}
	for cname, c := range checkers {
		for _, tt := range tests {
			t.Run(cname+"/"+tt.name, func(t *testing.T) {
				obj := deepCopyMap(stored)
				meta := obj["metadata"].(map[string]any)
				tt.edit(meta["labels"].(map[string]any), meta["annotations"].(map[string]any))
				req := &provenance.Request{Operation: tt.op, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "app", Object: obj}
				req.ObjectRaw, _ = json.Marshal(obj) // a write, not the drift scan
				if tt.op == provenance.Update {
					req.OldObject = stored
				}
				res := c.Check(snap, req)
				wantOK := tt.ok || tt.strict && cname != "person strict"
				if res.Allowed != wantOK {
					t.Fatalf("allowed = %v (%s %v), want %v", res.Allowed, res.Reason, res.Diffs, wantOK)
				}
				if !wantOK && !tt.strict && res.Reason != provenance.ReasonAgentMark {
					t.Fatalf("reason = %s, want %s", res.Reason, provenance.ReasonAgentMark)
				}
			})
		}
	}
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = deepCopyMap(sub)
		}
		out[k] = v
	}
	return out
}

// TestAgentMarksLiveRead: the drift scan reads a live object as a create
// with no request body (no write); the marks the agent set there where Git
// is silent are the agent's, not drift. The same object sent as a write is
// a create that sets them, refused.
func TestAgentMarksLiveRead(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"ConfigMap": true}, provenancetest.Revision("m"), map[string]string{"shop.yaml": marksRepo})
	stored := toMap(t, storedMarks)
	raw, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{name: "drift scan's read", ok: true},
		{name: "a person's create", raw: raw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Create, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "app", Object: stored, ObjectRaw: tt.raw}
			res := (&provenance.Checker{Fields: provenance.FieldsDeclared}).Check(snap, req)
			if res.Allowed != tt.ok {
				t.Fatalf("allowed = %v (%s %v), want %v", res.Allowed, res.Reason, res.Diffs, tt.ok)
			}
		})
	}
}
