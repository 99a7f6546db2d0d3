package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// TestNoControllerRuleFreesAGitOpsObject: an Application's ignoreDifferences
// frees nothing of a GitOps object for controllers: an AppProject's labels
// (its global projects) and destinationServiceAccounts stay Git's.
func TestNoControllerRuleFreesAGitOpsObject(t *testing.T) {
	for _, ptr := range []string{"/metadata/labels", "/metadata", "/spec/destinationServiceAccounts"} {
		t.Run(ptr, func(t *testing.T) {
			root := provenance.Root{Name: "Application argocd/projects"}
			c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
			ix := &provenance.Indexer{Scope: clusterScope{}, Root: root}
			idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
				{Path: "p.yaml", Objects: []map[string]any{object(t, labelledProject)},
					ControllerIgnores: []provenance.IgnoreRule{{Group: "argoproj.io", Kind: "AppProject", JSONPointers: []string{ptr}}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			c.Update(provenance.Part{Index: idx})
			snap := c.Store.Load()
			proj := change{group: "argoproj.io", version: "v1alpha1", kind: "AppProject", resource: "appprojects", namespace: "argocd", name: "team-a", obj: labelledProject}
			edit := setPath([]string{"metadata", "labels"}, map[string]any{"tier": "platform"})
			if ptr == "/spec/destinationServiceAccounts" {
				edit = setPath([]string{"spec", "destinationServiceAccounts"}, []any{map[string]any{"server": "*", "namespace": "*", "defaultServiceAccount": "argocd:platform-admin"}})
			}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snap},
				Checker: &provenance.Checker{Fields: provenance.FieldsStrict}, Controllers: ControllerChecker(nil), Modes: FixedMode(Enforce),
				Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), proj.with(admissionv1.Update, edit).admissionRequest(t, operator))
			if d.Allowed {
				t.Errorf("allowed (%s): a controller rule freed an AppProject's %s", d.Reason, ptr)
			}
		})
	}
}

// TestNoControllerRuleRedirectsAnApplication: nor a child Application's
// source.
func TestNoControllerRuleRedirectsAnApplication(t *testing.T) {
	root := provenance.Root{Name: "Application argocd/apps"}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	ix := &provenance.Indexer{Scope: clusterScope{}, Root: root}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		{Path: "apps.yaml", Objects: []map[string]any{object(t, declaredApplication)},
			ControllerIgnores: []provenance.IgnoreRule{{Group: "argoproj.io", Kind: "Application", JSONPointers: []string{"/spec/source/targetRevision", "/spec/source/repoURL"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: idx})
	app := change{group: "argoproj.io", version: "v1alpha1", kind: "Application", resource: "applications", namespace: "argocd", name: "shop", obj: declaredApplication}
	h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{c.Store.Load()},
		Checker: &provenance.Checker{Fields: provenance.FieldsStrict}, Controllers: ControllerChecker(nil), Modes: FixedMode(Enforce),
		Audit: &records{}, Now: func() time.Time { return t0 }}
	d := h.Decide(context.Background(), app.with(admissionv1.Update, setPath([]string{"spec", "source", "repoURL"}, "https://evil.example/x.git")).admissionRequest(t, operator))
	if d.Allowed {
		t.Errorf("allowed (%s): a controller redirected a declared Application's repoURL", d.Reason)
	}
}
