package e2e

import "testing"

// TestOnlyTheAgentWritesAnArtifact: a Flux source's status names the
// artifact kustomize-controller fetches and the digest it checks it
// against, so whoever writes it chooses what the agent applies. A
// controller's status write is no longer kept away from gitgate by the
// matchConditions, and neither it nor a person may make one; the agent
// (source-controller) may.
func TestOnlyTheAgentWritesAnArtifact(t *testing.T) {
	applyShop(t)
	ensureNamespace(t, "flux-system")
	installFluxCRDs(t)
	declare(t, "fleet.yaml", declaredFleet)
	if r := env.kubectl.Run(declaredFleet, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "gitrepository", "fleet", "--as", agent, "--wait=false")
	})
	artifact := func(url string) string {
		return `{"status":{"artifact":{"path":"x.tar.gz","url":"` + url + `","revision":"main@sha1:0123456789abcdef0123456789abcdef01234567","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","lastUpdateTime":"2026-12-06T00:00:00Z"}}}`
	}
	patch := func(as, url string) []string {
		return []string{"-n", "flux-system", "patch", "gitrepository", "fleet", "--subresource", "status", "--type", "merge", "-p", artifact(url), "--as", as}
	}
	// An operator's service account with every right in flux-system: RBAC
	// lets it write the status; gitgate is what stops it.
	mustRun(t, "-n", "flux-system", "create", "rolebinding", "artifact-writer", "--clusterrole", "cluster-admin",
		"--serviceaccount", "ops:artifact-writer", "--as", exemptController)
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "rolebinding", "artifact-writer", "--as", exemptController)
	})
	for _, who := range []string{"system:serviceaccount:ops:artifact-writer", person} {
		r := env.kubectl.Run("", patch(who, "http://evil.example/x.tar.gz")...)
		wantDenied(t, r, "agent-token")
	}
	if r := env.kubectl.Run("", patch(agent, "http://source-controller.flux-system.svc/x.tar.gz")...); r.Failed() {
		t.Errorf("the agent's status write: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if got := jsonpathIn(t, "flux-system", "gitrepository/fleet", "{.status.artifact.url}"); got != "http://source-controller.flux-system.svc/x.tar.gz" {
		t.Errorf("artifact url = %q, want the agent's", got)
	}
}
