package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// hookJob is a PreSync hook the Application renders: Argo CD creates and
// deletes it in the course of a sync.
const hookJob = `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate","namespace":"shop","annotations":{"argocd.argoproj.io/hook":"PreSync"}},
	"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"m","image":"migrate:1"}]}}}}`

var (
	impersonatedRoot = provenance.Root{Name: "Application argocd/shop"}
	hookChange       = change{group: "batch", version: "v1", kind: "Job", resource: "jobs", obj: hookJob, namespace: "shop", name: "migrate"}
)

// impersonatedSnapshot holds the Application root impersonatedRoot, which
// names deployer its sync agent (the account Argo CD syncs it as, which
// argocd-server acts as too) and declares files, and a HelmRelease whose
// full agent is helm-deployer, in the same namespace.
func impersonatedSnapshot(t *testing.T, files ...provenance.File) *provenance.Snapshot {
	t.Helper()
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetSyncAgents(impersonatedRoot, []string{deployer})
	c.SetAgents(provenance.Root{Name: "HelmRelease shop/other", Source: "HelmRelease shop/other"}, []string{"system:serviceaccount:shop:helm-deployer"})
	ix := &provenance.Indexer{Scope: clusterScope{}, Root: impersonatedRoot}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, files)
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: idx})
	return c.Store.Load()
}

// syncAgentSnapshot: the impersonated Application declares the Deployment
// podinfo, the Secret session (its token indeterminate) and a PreSync
// hook.
func syncAgentSnapshot(t *testing.T) *provenance.Snapshot {
	return impersonatedSnapshot(t,
		provenance.File{Path: "shop/deployment.yaml", Objects: []map[string]any{object(t, releaseDeployment)}},
		provenance.File{Path: "shop/secret.yaml", Objects: []map[string]any{object(t, releaseSecret)}, Indeterminate: []string{"/data/token"}},
		provenance.File{Path: "shop/hook.yaml", Objects: []map[string]any{object(t, hookJob)}, Transient: true})
}

// TestSyncAgent: the account Argo CD syncs an Application as, with
// impersonation on, is that root's sync agent: argocd-server acts as it
// too for people's edits in its UI (patch, delete, resource actions), so
// it writes as the agent only what no one but the agent may (the hook,
// the random token) and is judged as a controller for everything else:
// Git's values pass, an edit away from Git or a delete of a declared
// object is refused; its token stays an agent's.
func TestSyncAgent(t *testing.T) {
	snap := syncAgentSnapshot(t)
	newImage := setPath([]string{"spec", "template", "spec", "containers"}, []any{map[string]any{"name": "podinfo", "image": "evil:1"}})
	newToken := setPath([]string{"data", "token"}, "bWluZQ==")
	for _, tc := range []struct {
		name        string
		user        string
		req         func(t *testing.T) admissionRequestFunc
		wantOutcome string
		wantReason  provenance.Reason
		wantClass   Class
	}{
		{"Git's values", deployer, changed(releaseChange.with(admissionv1.Update, nil)), outcomeAllowed, provenance.ReasonMatchesGit, Controller},
		{"an edit away from Git (argocd-server's patch)", deployer, changed(releaseChange.with(admissionv1.Update, newImage)), "denied", provenance.ReasonFieldMismatch, Controller},
		{"a delete of a declared object (argocd-server's delete)", deployer, changed(releaseChange.with(admissionv1.Delete, nil)), "denied", provenance.ReasonManagedDelete, Controller},
		{"the hook's create", deployer, changed(hookChange.with(admissionv1.Create, nil)), outcomeAllowed, reasonAgent, Agent},
		{"the hook's delete", deployer, changed(hookChange.with(admissionv1.Delete, nil)), outcomeAllowed, reasonAgent, Agent},
		{"the random token", deployer, changed(sessionChange.with(admissionv1.Update, newToken)), outcomeAllowed, reasonAgent, Agent},
		{"the hook, by another account", operator, changed(hookChange.with(admissionv1.Create, nil)), "denied", provenance.ReasonAgentOnly, Controller},
		{"a controller's Pod as the account", operator, changed(deployerPodChange.with(admissionv1.Create, nil)), "denied", reasonAgentToken, Controller},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := agentsHandler(snap).Decide(context.Background(), tc.req(t)(tc.user))
			if d.Outcome != tc.wantOutcome || d.Reason != tc.wantReason || d.Class != tc.wantClass {
				t.Fatalf("outcome %s reason %s class %s, want %s %s %s\n%s", d.Outcome, d.Reason, d.Class, tc.wantOutcome, tc.wantReason, tc.wantClass, d.Message)
			}
			// Never the advice to make the account an agent: people's
			// edits through argocd-server would pass.
			if tc.user == deployer && strings.Contains(d.Message, "--agent") {
				t.Errorf("the refusal advises --agent for a sync agent:\n%s", d.Message)
			}
		})
	}
}
