package e2e

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// certManager is a service account of an operator, judged as a
// controller, bound to cluster-admin for the test.
const certManager = "system:serviceaccount:cert-manager:cert-manager"

// declaredApps is a Kustomization Git declares in flux-system.
const declaredApps = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: fleet
`

// TestGitOpsObjectEarlyCreateAndDryRun: a controller creating a declared
// Kustomization before the agent may add nothing to it (spec.patches,
// spec.postBuild), while Git's manifest as it is passes; and with
// --dry-run-action warn, a person's server dry run of a change to what it
// applies is warned (kubectl diff works) while the change itself, and a
// dry-run TokenRequest for the agent, stay denied.
func TestGitOpsObjectEarlyCreateAndDryRun(t *testing.T) {
	ensureNamespace(t, "flux-system")
	installFluxCRDs(t)
	binding := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"cert-manager-e2e"},
"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
"subjects":[{"kind":"ServiceAccount","name":"cert-manager","namespace":"cert-manager"}]}`
	if r := env.kubectl.Run(binding, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "clusterrolebinding", "cert-manager-e2e", "--as", exemptController)
	})
	declare(t, "apps.yaml", declaredApps)
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "kustomization", "apps", "--as", agent, "--ignore-not-found", "--wait=false")
	})
	for _, extra := range []string{
		"  patches:\n  - patch: '[{\"op\":\"add\",\"path\":\"/spec/template/spec/hostPID\",\"value\":true}]'\n    target:\n      kind: Deployment\n",
		"  postBuild:\n    substitute:\n      image: evil.example.com/x:1\n",
	} {
		r := env.kubectl.Run(declaredApps+extra, "create", "-f", "-", "--as", certManager)
		wantDenied(t, r, "[agent-token]")
	}
	if r := env.kubectl.Run(declaredApps, "create", "-f", "-", "--as", certManager); r.Failed() {
		t.Fatalf("a controller's create of Git's manifest as it is: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if got := jsonpathIn(t, "flux-system", "kustomization/apps", "{.spec.patches}{.spec.postBuild}"); got != "" {
		t.Errorf("Kustomization apps holds %q after the refused creates", got)
	}

	env.stack.SwapGitgate(t, "--dry-run-action", "warn")
	patch := []string{"-n", "flux-system", "patch", "kustomization", "apps", "--type", "merge", "-p", `{"spec":{"path":"./evil"}}`, "--as", person}
	r := env.kubectl.Run("", append(patch, "--dry-run=server")...)
	if r.Failed() || !strings.Contains(r.Stderr, "[agent-token] gitgate would deny (dry run)") || !strings.Contains(r.Stderr, "neither the mode nor break-glass changes this") {
		t.Errorf("a dry run of the path change: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	wantDenied(t, env.kubectl.Run("", patch...), "[agent-token]")
	if got := jsonpathIn(t, "flux-system", "kustomization/apps", "{.spec.path}"); got != "./apps" {
		t.Errorf("Kustomization apps: path %q, want ./apps", got)
	}
	if r := env.kubectl.Run("", "-n", "flux-system", "get", "serviceaccount", "kustomize-controller"); r.Failed() {
		mustRun(t, "-n", "flux-system", "create", "serviceaccount", "kustomize-controller", "--as", exemptController)
	}
	tr := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`
	r = env.kubectl.Run(tr, "create", "--raw", "/api/v1/namespaces/flux-system/serviceaccounts/kustomize-controller/token?dryRun=All", "-f", "-", "--as", person)
	if !r.Failed() || !strings.Contains(r.Stderr, "agent-token") || strings.Contains(r.Stdout, `"token"`) {
		t.Errorf("a dry-run TokenRequest for the agent: %s: %v\n%s\n%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
	}
}

// madeByTheAgent is a Kustomization Git does not declare, as the agent
// would apply it for a parent gitgate does not read: no owner labels, but
// kustomize-controller's field manager.
const madeByTheAgent = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: bootstrap
  namespace: flux-system
spec:
  interval: 10m
  path: ./
  prune: true
  sourceRef:
    kind: GitRepository
    name: fleet
`

// TestDeletingWhatTheAgentMadeIsADeleteOfWhatItCarries: a person's delete
// of a Kustomization the agent applied (its field manager in
// managedFields, as the API server hands it to gitgate) is refused like a
// delete of declared objects, and passes under a break-glass grant with
// its warning; one no agent wrote stays the person's to delete.
func TestDeletingWhatTheAgentMadeIsADeleteOfWhatItCarries(t *testing.T) {
	ensureNamespace(t, "flux-system")
	ensureNamespace(t, harness.GitgateNamespace)
	installFluxCRDs(t)
	if r := env.kubectl.Run(madeByTheAgent, "apply", "--server-side", "--field-manager", "kustomize-controller", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "kustomization", "bootstrap", "--as", agent, "--ignore-not-found", "--wait=false")
	})
	del := []string{"-n", "flux-system", "delete", "kustomization", "bootstrap", "--wait=false", "--as", person}
	wantDenied(t, env.kubectl.Run("", del...), "[agent-made-delete]", "the GitOps agent kustomize-controller (metadata.managedFields) made it")

	handMade := strings.Replace(madeByTheAgent, "bootstrap", "scratch", 1)
	if r := env.kubectl.Run(handMade, "create", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "flux-system", "delete", "kustomization", "scratch", "--wait=false", "--as", person)

	if _, err := harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "grant", "inc-9", "--user", person, "--for", "10m", "--reason", "INC-9"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "revoke", "inc-9") }()
	waitForGrant(t, "inc-9")
	if r := env.kubectl.Run("", del...); r.Failed() || !strings.Contains(r.Stderr, "break-glass grant inc-9") {
		t.Errorf("a delete under the grant: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}
