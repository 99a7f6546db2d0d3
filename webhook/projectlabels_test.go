package webhook

import (
	"context"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

const labelledProject = `{"apiVersion":"argoproj.io/v1alpha1","kind":"AppProject","metadata":{"name":"team-a","namespace":"argocd"},
	"spec":{"sourceRepos":["https://git.example/team-a.git"],"destinations":[{"server":"*","namespace":"team-a"}],
	"destinationServiceAccounts":[{"server":"https://kubernetes.default.svc","namespace":"team-a","defaultServiceAccount":"team-a-deployer"}]}}`

// TestAppProjectLabelsAreTheAgentPath: with argocd-cm's globalProjects
// selecting on a label, labelling a declared AppProject merges the global
// project's destinationServiceAccounts (and sourceRepos, destinations,
// clusterResourceWhitelist) into it: the same effect as adding to its
// spec, so refused as agent-token like it, for a controller, argocd-server
// and a person in warn mode alike.
func TestAppProjectLabelsAreTheAgentPath(t *testing.T) {
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"},
		[]provenance.File{{Path: "fleet.yaml", Objects: []map[string]any{object(t, labelledProject)}}})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := s.Snapshot()
	proj := change{group: "argoproj.io", version: "v1alpha1", kind: "AppProject", resource: "appprojects", namespace: "argocd", name: "team-a", obj: labelledProject}
	addSA := func(m map[string]any) {
		spec := m["spec"].(map[string]any)
		spec["destinationServiceAccounts"] = append(spec["destinationServiceAccounts"].([]any),
			map[string]any{"server": "*", "namespace": "*", "defaultServiceAccount": "argocd:platform-admin"})
	}
	for _, tc := range []struct {
		name   string
		user   string
		mode   Mode
		change change
	}{
		{"a controller adds an entry to spec.destinationServiceAccounts (control)", operator, Enforce, proj.with(admissionv1.Update, addSA)},
		{"a controller labels the AppProject into a global project", operator, Enforce,
			proj.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"tier": "platform"}))},
		{"argocd-server (people proxy) labels it for a project admin, enforce, declared fields", "system:serviceaccount:argocd:argocd-server", Enforce,
			proj.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"tier": "platform"}))},
		{"a person in warn mode labels the AppProject into a global project", dev, Warn,
			proj.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"tier": "platform"}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Fields: provenance.FieldsDeclared}, Controllers: ControllerChecker(nil), Modes: FixedMode(tc.mode),
				Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if d.Allowed || d.Reason != reasonAgentToken {
				t.Errorf("allowed %v reason %q (%s); want refused %s: the label changes whom Argo CD syncs as and what the project allows",
					d.Allowed, d.Reason, d.Message, reasonAgentToken)
			}
		})
	}
}
