package provenance_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
)

// TestCheckAgentMadeDelete: a delete of a GitOps object Git does not
// declare is refused when a GitOps agent made it (agent-made-delete), as
// deleting it has the agent prune what it applied; one no agent marked,
// one being deleted already, and objects of other kinds stay free.
func TestCheckAgentMadeDelete(t *testing.T) {
	snap := buildSnapshot(t)
	const child = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: child, namespace: flux-system}\nspec: {path: ./tenant, prune: true, sourceRef: {kind: GitRepository, name: fleet}}\n"
	const app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: team-a, namespace: argocd}\nspec: {project: default}\n"
	meta := func(y, fields string) string { return strings.Replace(y, "metadata: {", "metadata: {"+fields+", ", 1) }
	onlyApplications, err := provenance.ParseGitOpsKinds([]string{"argoproj.io/Application"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		gitops      provenance.GitOpsKinds
		old         string
		wantAllowed bool
		wantReason  provenance.Reason
		wantMaker   string
	}{
		{name: "a Kustomization a parent Kustomization applied", old: meta(child, "labels: {kustomize.toolkit.fluxcd.io/name: tenants, kustomize.toolkit.fluxcd.io/namespace: flux-system}"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "Kustomization flux-system/tenants (label kustomize.toolkit.fluxcd.io/name)"},
		{name: "a Kustomization a HelmRelease's chart holds", old: meta(child, "labels: {helm.toolkit.fluxcd.io/name: platform, helm.toolkit.fluxcd.io/namespace: flux-system}"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "HelmRelease flux-system/platform"},
		{name: "a Kustomization a ResourceSet made", old: meta(child, "labels: {resourceset.fluxcd.controlplane.io/name: tenants, resourceset.fluxcd.controlplane.io/namespace: flux-system}"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "ResourceSet flux-system/tenants"},
		{name: "the Kustomization a FluxInstance made", old: meta(child, "labels: {fluxcd.controlplane.io/name: flux, fluxcd.controlplane.io/namespace: flux-system}"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "FluxInstance flux-system/flux"},
		{name: "an Application of an ApplicationSet", old: meta(app, "ownerReferences: [{apiVersion: argoproj.io/v1alpha1, kind: ApplicationSet, name: teams, uid: u1, controller: true}]"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "ApplicationSet argocd/teams (ownerReference)"},
		{name: "an Application a parent Application applied", old: meta(app, "annotations: {argocd.argoproj.io/tracking-id: 'argocd_apps:argoproj.io/Application:argocd/team-a'}"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "Argo CD Application argocd_apps"},
		{name: "a Kustomization kustomize-controller wrote (its finalizer)", old: meta(child, "managedFields: [{manager: kustomize-controller, operation: Update, apiVersion: kustomize.toolkit.fluxcd.io/v1}]"),
			wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "the GitOps agent kustomize-controller"},
		{name: "a delete without the old object fails closed", wantReason: provenance.ReasonAgentMadeDelete, wantMaker: "unknown"},
		{name: "an agent wrote only its status", old: meta(child, "managedFields: [{manager: kustomize-controller, operation: Update, subresource: status}, {manager: kubectl-client-side-apply, operation: Update}]"),
			wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "an Application owned by something else", old: meta(app, "ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: u1}]"),
			wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "a Kustomization no agent marked", old: child, wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "one being deleted already", old: meta(child, "deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [finalizers.fluxcd.io], labels: {kustomize.toolkit.fluxcd.io/name: tenants}"),
			wantAllowed: true, wantReason: provenance.ReasonTerminating, wantMaker: "Kustomization tenants"},
		{name: "a kind --gitops-kind leaves out", gitops: onlyApplications, old: meta(child, "labels: {kustomize.toolkit.fluxcd.io/name: tenants}"),
			wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "a ConfigMap a Kustomization applied (Git does not declare it)", old: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop, labels: {kustomize.toolkit.fluxcd.io/name: apps}}\n",
			wantAllowed: true, wantReason: provenance.ReasonNotManaged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Delete, Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization", Namespace: "flux-system", Name: "child"}
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
				meta := req.OldObject["metadata"].(map[string]any)
				group, version, _ := strings.Cut(req.OldObject["apiVersion"].(string), "/")
				if version == "" {
					group, version = "", group
				}
				req.Group, req.Version, req.Kind = group, version, req.OldObject["kind"].(string)
				req.Namespace, req.Name = meta["namespace"].(string), meta["name"].(string)
			}
			for _, c := range []*provenance.Checker{{GitOps: tc.gitops}, {Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true, GitOps: tc.gitops}} {
				res := c.Check(snap, req)
				if res.Allowed != tc.wantAllowed || res.Reason != tc.wantReason {
					t.Errorf("controller %v: Check = allowed %v, %s; want %v, %s", c.Controller, res.Allowed, res.Reason, tc.wantAllowed, tc.wantReason)
				}
			}
			maker, made := tc.gitops.MadeBy(req.Group, req.Kind, req.OldObject)
			if made != (tc.wantMaker != "") || !strings.Contains(maker, tc.wantMaker) {
				t.Errorf("MadeBy = %q, %v; want %q", maker, made, tc.wantMaker)
			}
		})
	}
}
