package webhook

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// syncHookSnapshot: an Application whose sync agent is deployer declares a PreSync
// hook Job and a Deployment whose Pod template carries a random annotation
// (indeterminate), besides a HelmRelease-style full agent in shop.
func syncHookSnapshot(t *testing.T) *provenance.Snapshot {
	return impersonatedSnapshot(t,
		provenance.File{Path: "hooks", Transient: true, Objects: []map[string]any{object(t, hookJob)}},
		provenance.File{Path: "shop/deployment.yaml", Objects: []map[string]any{object(t, releaseDeployment)}, Indeterminate: []string{"/spec/template/metadata/annotations/rollme"}})
}

func hostPIDJob(m map[string]any) {
	m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["hostPID"] = true
}

func rollme(m map[string]any) {
	tmpl := m["spec"].(map[string]any)["template"].(map[string]any)
	md, _ := tmpl["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		tmpl["metadata"] = md
	}
	md["annotations"] = map[string]any{"rollme": "Xy12z"}
}

// TestSyncAgentHookCreateHeldToDefaults: the sync agent's create of a hook
// is held, like a controller's create of any declared Pod-bearing object,
// to the API server's defaults for Git's manifest (checkCreate): Git's
// hook passes as the agent's, one with hostPID is refused (another
// service account: TestSyncAgentHookRunsAsGitSays).
func TestSyncAgentHookCreateHeldToDefaults(t *testing.T) {
	snap := syncHookSnapshot(t)
	h := agentsHandler(snap)
	h.Defaults = fakeDefaults{obj: object(t, hookJob)}
	if d := h.Decide(context.Background(), hookChange.with(admissionv1.Create, nil).admissionRequest(t, deployer)); !d.Allowed || d.Class != Agent {
		t.Fatalf("Git's hook: %s %s %s\n%s", d.Outcome, d.Reason, d.Class, d.Message)
	}
	d := h.Decide(context.Background(), hookChange.with(admissionv1.Create, hostPIDJob).admissionRequest(t, deployer))
	if d.Allowed {
		t.Errorf("allowed (reason %s class %s): a hook Job with hostPID, which Git does not declare, created as the agent's", d.Reason, d.Class)
	}
}

// TestSyncAgentIndeterminateCreateHeldToDefaults: a create of a declared
// Deployment that sets its indeterminate annotation is the sync agent's
// only if the rest of it is what the API server makes of Git's manifest:
// hostPID besides is refused, with or without the annotation.
func TestSyncAgentIndeterminateCreateHeldToDefaults(t *testing.T) {
	snap := syncHookSnapshot(t)
	h := agentsHandler(snap)
	h.Defaults = fakeDefaults{obj: object(t, releaseDeployment)}
	// control: without the random annotation, the same create is held to the defaults
	d := h.Decide(context.Background(), releaseChange.with(admissionv1.Create, hostPID).admissionRequest(t, deployer))
	if d.Allowed {
		t.Fatalf("control allowed (reason %s class %s)", d.Reason, d.Class)
	}
	d = h.Decide(context.Background(), releaseChange.with(admissionv1.Create, func(m map[string]any) { rollme(m); hostPID(m) }).admissionRequest(t, deployer))
	if d.Allowed {
		t.Errorf("allowed (reason %s class %s): a declared Deployment with hostPID created as the agent's, because it also sets its random annotation", d.Reason, d.Class)
	}
}

// TestSyncAgentHookRunsAsGitSays: the hook Job the sync agent creates runs
// as Git says, never as a full agent's service account (a HelmRelease's
// in the same namespace), as a controller's own Job may not either.
func TestSyncAgentHookRunsAsGitSays(t *testing.T) {
	snap := syncHookSnapshot(t)
	h := agentsHandler(snap)
	h.Defaults = fakeDefaults{obj: object(t, hookJob)}
	saJob := func(m map[string]any) {
		m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["serviceAccountName"] = "helm-deployer"
	}
	other := hookChange
	other.name = "undeclared"
	other = other.with(admissionv1.Create, func(m map[string]any) { m["metadata"].(map[string]any)["name"] = "undeclared"; saJob(m) })
	if d := h.Decide(context.Background(), other.admissionRequest(t, operator)); d.Allowed {
		t.Fatalf("control: a controller's Job as helm-deployer allowed (%s)", d.Reason)
	}
	d := h.Decide(context.Background(), hookChange.with(admissionv1.Create, saJob).admissionRequest(t, deployer))
	if d.Allowed {
		t.Errorf("allowed (reason %s class %s): the sync agent's hook Job runs as HelmRelease shop/other's agent", d.Reason, d.Class)
	}
}

// TestSyncAgentIndeterminateCreate: the sync agent's create of a declared
// Deployment with its random annotation, and nothing else of its own,
// passes as the agent's.
func TestSyncAgentIndeterminateCreate(t *testing.T) {
	h := agentsHandler(syncHookSnapshot(t))
	h.Defaults = fakeDefaults{obj: object(t, releaseDeployment)}
	d := h.Decide(context.Background(), releaseChange.with(admissionv1.Create, rollme).admissionRequest(t, deployer))
	if !d.Allowed || d.Class != Agent {
		t.Errorf("%s %s %s\n%s", d.Outcome, d.Reason, d.Class, d.Message)
	}
}
