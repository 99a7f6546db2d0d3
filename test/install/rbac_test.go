package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// TestServiceAccountHasLeastPrivilege asks the API server's authorizer,
// with the manifests' RBAC applied, what gitgate's service account may do:
// nothing that would hand a bug in gitgate the cluster (another service
// account's token, a Pod anywhere, Secrets, the kubelet's proxy), and
// everything serve needs.
func TestServiceAccountHasLeastPrivilege(t *testing.T) {
	install(t, 1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "serviceaccounts", "--subresource=token", "-n", "kube-system"}, "no"},
		{[]string{"create", "serviceaccounts/token", "-n", "flux-system"}, "no"},
		{[]string{"create", "pods", "-n", "default"}, "no"},
		{[]string{"create", "deployments.apps", "-n", "default"}, "no"},
		{[]string{"create", "pods", "--subresource=exec", "-n", "default"}, "no"},
		{[]string{"create", "pods", "--subresource=attach", "-n", "default"}, "no"},
		{[]string{"create", "pods", "--subresource=portforward", "-n", "default"}, "no"},
		{[]string{"get", "pods", "--subresource=exec", "-n", "flux-system"}, "no"},
		// The Pod a kubectl exec reaches into, to learn whom it runs as.
		{[]string{"get", "pods", "-n", "flux-system"}, "yes"},
		{[]string{"create", "clusterrolebindings"}, "no"},
		{[]string{"get", "secrets", "-n", "default"}, "no"},
		{[]string{"list", "secrets", "-A"}, "no"},
		{[]string{"get", "nodes", "--subresource=proxy"}, "no"},
		{[]string{"get", "nodes"}, "no"},
		{[]string{"get", "pods", "--subresource=log", "-n", "default"}, "no"},
		{[]string{"get", "secrets", "-n", dryRunNamespace}, "no"},
		// Nor lift the policy that holds it to dry runs in the sandbox.
		{[]string{"delete", "validatingadmissionpolicies.admissionregistration.k8s.io/gitgate-dry-run-only"}, "no"},
		{[]string{"update", "validatingadmissionpolicybindings.admissionregistration.k8s.io/gitgate-dry-run-only"}, "no"},
		// The dry runs, in the sandbox only.
		{[]string{"create", "deployments.apps", "-n", dryRunNamespace}, "yes"},
		{[]string{"create", "pods", "-n", dryRunNamespace}, "yes"},
		// The drift scan: the built-in kinds, by LIST.
		{[]string{"list", "deployments.apps", "-A"}, "yes"},
		{[]string{"get", "configmaps", "-n", "default"}, "yes"},
		{[]string{"list", "clusterroles"}, "yes"},
		{[]string{"get", "customresourcedefinitions.apiextensions.k8s.io"}, "yes"},
		// How custom resources convert between versions (a watch), and an
		// HPA read in the version Git declares it in; no write of either.
		{[]string{"watch", "customresourcedefinitions.apiextensions.k8s.io"}, "yes"},
		{[]string{"update", "customresourcedefinitions.apiextensions.k8s.io"}, "no"},
		{[]string{"get", "horizontalpodautoscalers.autoscaling", "-n", "default"}, "yes"},
		{[]string{"update", "horizontalpodautoscalers.autoscaling", "-n", "default"}, "no"},
		// Denial Events, and its own ConfigMaps.
		{[]string{"create", "events", "-n", "default"}, "yes"},
		{[]string{"update", "configmaps/gitgate-drift", "-n", namespace}, "yes"},
		// The drift scan's Lease, and no other.
		{[]string{"update", "leases.coordination.k8s.io/gitgate-drift", "-n", namespace}, "yes"},
		{[]string{"update", "leases.coordination.k8s.io/kube-controller-manager", "-n", "kube-system"}, "no"},
		{[]string{"update", "leases.coordination.k8s.io/other", "-n", namespace}, "no"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", namespace}, "no"},
		{[]string{"create", "configmaps", "-n", namespace}, "no"},
	} {
		args := append([]string{"auth", "can-i", "--as", serviceAcct}, c.args...)
		r := env.kubectl.Run("", args...)
		if got := strings.TrimSpace(r.Stdout); got != c.want {
			t.Errorf("kubectl %s: %q, want %q\n%s", strings.Join(args, " "), got, c.want, r.Stderr)
		}
	}
}

// TestPersonCreatingBeforeTheAgentThroughTheSandbox: gitgate, running as
// its service account with only the manifests' RBAC, learns the defaults
// of Git's Deployment by a dry run in the sandbox: hostNetwork added by a
// person is denied, Git's manifest as it is allowed.
func TestPersonCreatingBeforeTheAgentThroughTheSandbox(t *testing.T) {
	install(t, 1)
	mustRun(t, "", "apply", "--as", harness.Agent, "-f", filepath.Join(env.fixture, "00-namespace.yaml"))
	mustRun(t, "", "delete", "deployment", "web", "-n", "shop", "--ignore-not-found", "--as", harness.Agent)
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "deployment", "web", "-n", "shop", "--ignore-not-found", "--as", harness.Agent)
	})
	web, err := os.ReadFile(filepath.Join(env.fixture, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployment, _, _ := strings.Cut(string(web), "\n---\n")
	hostNet := strings.Replace(deployment, "      containers:", "      hostNetwork: true\n      containers:", 1)
	r := env.kubectl.Run(hostNet, "create", "-f", "-", "--as", harness.Person)
	if !r.Failed() || !strings.Contains(r.Stderr, "spec.template.spec.hostNetwork") {
		t.Fatalf("%s: want gitgate's denial naming spec.template.spec.hostNetwork, got err=%v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if r := env.kubectl.Run(deployment, "create", "-f", "-", "--as", harness.Person); r.Failed() {
		t.Fatalf("creating Git's manifest as it is: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// TestSandboxTakesDryRunsOnly: RBAC lets gitgate create anything in the
// sandbox; the manifests' ValidatingAdmissionPolicy lets through only dry
// runs, so gitgate's token stores nothing there, while its writes elsewhere
// are untouched (the self-managed install above patched the webhook
// configuration and wrote its Secret and Leases as the same account).
func TestSandboxTakesDryRunsOnly(t *testing.T) {
	install(t, 1)
	// No controller-manager runs here to make the sandbox's default
	// service account; the token request needs one to get to admission.
	mustRun(t, "", "create", "serviceaccount", "probe", "-n", dryRunNamespace)
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "serviceaccount", "probe", "-n", dryRunNamespace, "--ignore-not-found")
	})
	const refused = "gitgate writes to its dry-run namespace only as dry runs of whole objects"
	tokenRequest := filepath.Join(t.TempDir(), "token-request.json")
	if err := os.WriteFile(tokenRequest, []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// gitgate's sync ConfigMap as the install created it, to write back.
	syncCM := env.kubectl.Run("", "get", "configmap", "gitgate-sync", "-n", namespace, "-o", "yaml")
	if syncCM.Failed() {
		t.Fatalf("%s: %v\n%s", syncCM.CommandLine(), syncCM.Err, syncCM.Stderr)
	}
	for _, c := range []struct {
		name    string
		stdin   string
		args    []string
		wantErr string
	}{
		{"a real create in the sandbox", "", []string{"create", "configmap", "probe", "-n", dryRunNamespace}, refused},
		{"a token for the sandbox's service account", "", []string{"create", "token", "probe", "-n", dryRunNamespace}, refused},
		// The token endpoint ignores dryRun: a dry-run token request would
		// mint a real token.
		{"a dry-run token request", "", []string{"create", "--raw", "/api/v1/namespaces/" + dryRunNamespace + "/serviceaccounts/probe/token?dryRun=All", "-f", tokenRequest}, refused},
		{"a dry run in the sandbox", "", []string{"create", "configmap", "probe", "-n", dryRunNamespace, "--dry-run=server"}, ""},
		{"gitgate's own ConfigMap outside the sandbox", syncCM.Stdout, []string{"replace", "-f", "-"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.kubectl.Run(c.stdin, append(c.args, "--as", serviceAcct)...)
			switch {
			case c.wantErr == "" && r.Failed():
				t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
			case c.wantErr != "" && (!r.Failed() || !strings.Contains(r.Stderr, c.wantErr)):
				t.Fatalf("%s: want refused with %q, got err=%v\n%s%s", r.CommandLine(), c.wantErr, r.Err, r.Stdout, r.Stderr)
			}
		})
	}
	if r := env.kubectl.Run("", "get", "configmap", "probe", "-n", dryRunNamespace); !r.Failed() {
		t.Errorf("ConfigMap probe was stored in the sandbox")
	}
}
