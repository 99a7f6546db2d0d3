package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// declaredFleet is a GitRepository Git declares in flux-system.
const declaredFleet = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 1m
  url: https://git.example.com/platform/fleet.git
  ref:
    branch: main
`

// TestNoGrantOrModeHandsOutTheAgent: a person under a break-glass grant, or
// with gitgate in warn mode, may not take any way to the GitOps agent's
// identity: a Pod running as kustomize-controller, a token Secret for it,
// a Kustomization of their own, a declared GitRepository pointed
// elsewhere. Each is denied outright, where an ordinary change (another
// object, suspending the GitRepository) passes with the usual warning.
func TestNoGrantOrModeHandsOutTheAgent(t *testing.T) {
	applyShop(t)
	ensureNamespace(t, "flux-system")
	ensureNamespace(t, harness.GitgateNamespace)
	installFluxCRDs(t)
	if r := env.kubectl.Run("", "-n", "flux-system", "get", "serviceaccount", "kustomize-controller"); r.Failed() {
		mustRun(t, "-n", "flux-system", "create", "serviceaccount", "kustomize-controller", "--as", exemptController)
	}
	declare(t, "fleet.yaml", declaredFleet)
	if r := env.kubectl.Run(declaredFleet, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "gitrepository", "fleet", "--as", agent, "--wait=false")
	})

	if _, err := harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "grant", "inc-7", "--user", person, "--for", "10m", "--reason", "INC-7"); err != nil {
		t.Fatal(err)
	}
	revoke := func() { _, _ = harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "revoke", "inc-7") }
	defer revoke()
	waitForGrant(t, "inc-7")
	t.Run("under a grant", func(t *testing.T) { tryWaysToTheAgent(t, "break-glass grant inc-7") })

	// A grant beats warn mode: without it, the person is warned.
	revoke()
	env.stack.SwapGitgate(t, "--mode", "warn")
	t.Run("in warn mode", func(t *testing.T) { tryWaysToTheAgent(t, "gitgate would deny (warn mode)") })
}

// tryWaysToTheAgent tries each way to the agent's identity as the person,
// and an ordinary change, whose warning says passed.
func tryWaysToTheAgent(t *testing.T, passed string) {
	ways := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"a Pod running as kustomize-controller", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sneaky","namespace":"flux-system"},
			"spec":{"serviceAccountName":"kustomize-controller","containers":[{"name":"c","image":"busybox:1.36"}]}}`, []string{"create", "-f", "-"}},
		{"a token Secret for kustomize-controller", `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
			"metadata":{"name":"sneaky","namespace":"flux-system","annotations":{"kubernetes.io/service-account.name":"kustomize-controller"}}}`, []string{"create", "-f", "-"}},
		{"a Kustomization of their own", `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"sneaky","namespace":"shop"},
			"spec":{"interval":"1m","path":"./","prune":false,"sourceRef":{"kind":"GitRepository","name":"fleet","namespace":"flux-system"}}}`, []string{"create", "-f", "-"}},
		{"the declared GitRepository's URL", "", []string{"-n", "flux-system", "patch", "gitrepository", "fleet", "--type", "merge",
			"-p", `{"spec":{"url":"https://evil.example.com/fleet.git"}}`}},
		{"the declared GitRepository's ref", "", []string{"-n", "flux-system", "patch", "gitrepository", "fleet", "--type", "merge",
			"-p", `{"spec":{"ref":{"branch":"evil"}}}`}},
	}
	for _, w := range ways {
		r := env.kubectl.Run(w.stdin, append(w.args, "--as", person)...)
		wantDenied(t, r, "[agent-token]", "neither the mode nor break-glass changes this")
		if strings.Contains(r.Stderr, passed) {
			t.Errorf("%s: %s", w.name, r.Stderr)
		}
	}
	if got := jsonpathIn(t, "flux-system", "gitrepository/fleet", "{.spec.url} {.spec.ref.branch}"); got != "https://git.example.com/platform/fleet.git main" {
		t.Errorf("GitRepository fleet: url and branch %q after denied changes", got)
	}
	// Pausing the agent is still the person's to do, with the warning.
	r := env.kubectl.Run("", "-n", "flux-system", "patch", "gitrepository", "fleet", "--type", "merge", "-p", `{"spec":{"suspend":true}}`, "--as", person)
	if r.Failed() || !strings.Contains(r.Stderr, passed) {
		t.Errorf("suspending the GitRepository: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "flux-system", "patch", "gitrepository", "fleet", "--type", "json", "-p", `[{"op":"remove","path":"/spec/suspend"}]`, "--as", agent)
}

// installFluxCRDs installs Flux's source and kustomize CRDs, not in Git,
// as a Helm chart would, until the test ends.
func installFluxCRDs(t *testing.T) {
	t.Helper()
	dir, err := harness.FluxBinDir()
	if err != nil {
		t.Skip(err)
	}
	crds := filepath.Join(dir, "flux-crds")
	mustRun(t, "apply", "--server-side", "--force-conflicts", "-f", crds, "--as", exemptController)
	t.Cleanup(func() { env.kubectl.Run("", "delete", "-f", crds, "--as", exemptController, "--wait=false") })
	mustRun(t, "wait", "--for=condition=Established", "--timeout=60s", "-f", crds)
}

// jsonpathIn reads path of obj in namespace ns.
func jsonpathIn(t *testing.T, ns, obj, path string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "get", obj, "-n", ns, "-o", "jsonpath="+path).Stdout)
}
