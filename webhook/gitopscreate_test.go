package webhook

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// TestEarlyCreateOfGitOpsObject: a controller's create of a declared GitOps
// object before the agent applies it is held to the dry run of Git's
// manifest in everything but metadata and status: an extra spec.patches
// or spec.postBuild, or an Application's operation, is the agent applying
// what Git never said, and without the dry run gitgate cannot tell.
func TestEarlyCreateOfGitOpsObject(t *testing.T) {
	snapshot := agentPathSnapshot(t)
	asStored := func(js string, edit func(map[string]any)) fakeDefaults {
		return fakeDefaults{obj: decode(t, live(t, js, edit))}
	}
	patches := setPath([]string{"spec", "patches"}, []any{map[string]any{"patch": `[{"op":"add","path":"/spec/template/spec/hostPID","value":true}]`,
		"target": map[string]any{"kind": "Deployment"}}})
	postBuild := setPath([]string{"spec", "postBuild"}, map[string]any{"substitute": map[string]any{"image": "evil.example/x:1"}})
	manifests := setPath([]string{"operation", "sync", "manifests"}, []any{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`})
	crdDefault := setPath([]string{"spec", "force"}, false)
	tests := []struct {
		name        string
		user        string
		change      change
		defaults    Defaulter
		wantAllowed bool
		wantReason  provenance.Reason
	}{
		{name: "controller, a Kustomization as Git declares it", user: operator, change: kustomizationChange.with(admissionv1.Create, nil),
			defaults: asStored(declaredKustomization, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a Kustomization with the CRD's defaults, as the dry run makes it", user: operator, change: kustomizationChange.with(admissionv1.Create, crdDefault),
			defaults: asStored(declaredKustomization, crdDefault), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a Kustomization annotated", user: operator, change: kustomizationChange.with(admissionv1.Create, annotate),
			defaults: asStored(declaredKustomization, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a Kustomization with spec.patches", user: operator, change: kustomizationChange.with(admissionv1.Create, patches),
			defaults: asStored(declaredKustomization, nil), wantReason: reasonAgentToken},
		{name: "controller, a Kustomization with spec.postBuild", user: operator, change: kustomizationChange.with(admissionv1.Create, postBuild),
			defaults: asStored(declaredKustomization, nil), wantReason: reasonAgentToken},
		{name: "controller, an Application with operation.sync.manifests", user: operator, change: applicationChange.with(admissionv1.Create, manifests),
			defaults: asStored(declaredApplication, nil), wantReason: reasonAgentToken},
		{name: "controller, a Kustomization as Git declares it, no dry run (cluster-scoped, no sandbox)", user: operator, change: kustomizationChange.with(admissionv1.Create, nil),
			defaults: fakeDefaults{err: errDryRunForbidden}, wantReason: reasonAgentToken},
		{name: "controller, an ordinary Deployment as Git declares it, no dry run needed", user: operator, change: deploymentChange.with(admissionv1.Create, nil),
			defaults: asStored(declaredDeployment, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		// People are held to every field already; unchanged.
		{name: "person, a Kustomization as Git declares it", user: dev, change: kustomizationChange.with(admissionv1.Create, nil),
			defaults: asStored(declaredKustomization, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "person, a Kustomization with spec.patches", user: dev, change: kustomizationChange.with(admissionv1.Create, patches),
			defaults: asStored(declaredKustomization, nil), wantReason: reasonAgentToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Defaults: tt.defaults,
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs}
			checkControllerCase(t, h, recs, tt.change.admissionRequest(t, tt.user), tt.wantAllowed, tt.wantReason, nil)
		})
	}
}
