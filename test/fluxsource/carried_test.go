package fluxsource

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// TestKustomizationAParentMadeIsCarried: team-a is a Kustomization Git
// declares to no root gitgate watches, which the Kustomization
// tenants-system/tenants applied (and kustomize-controller labelled so).
// Deleting it would have kustomize-controller prune what it applied:
// refused for a person and for a controller, naming the parent; pointing
// it elsewhere stays a hard refusal. It and what it applied remain.
func TestKustomizationAParentMadeIsCarried(t *testing.T) {
	if got := getIn(t, harness.FluxNamespace, "kustomization/"+teamA, "{.metadata.labels.kustomize\\.toolkit\\.fluxcd\\.io/name}"); got != "tenants" {
		t.Fatalf("Flux did not label team-a as the tenants Kustomization's: %q", got)
	}
	del := []string{"-n", harness.FluxNamespace, "delete", "kustomization", teamA, "--wait=false"}
	expectDenied(t, env.kubectl.Run("", append(del, "--as", person)...),
		"[agent-made-delete]", "Kustomization tenants-system/tenants (label kustomize.toolkit.fluxcd.io/name) made it")
	expectDenied(t, env.kubectl.Run("", append(del, "--as", operator)...), "[agent-made-delete]", "judged as a controller")
	expectDenied(t, env.kubectl.Run("", "-n", harness.FluxNamespace, "patch", "kustomization", teamA, "--type", "merge",
		"-p", `{"spec":{"path":"./apps"}}`, "--as", person), "[agent-token]")
	if got := getIn(t, harness.FluxNamespace, "kustomization/"+teamA, "{.spec.path}"); got != "./team-a" {
		t.Errorf("team-a's path is %q", got)
	}
	if got := getIn(t, harness.FluxNamespace, "configmap/team-a-config", "{.data.owner}"); got != "team-a" {
		t.Errorf("team-a-config holds %q", got)
	}
}

// TestSubstituteFromInputIsHeld: the ConfigMap apps-vars and the optional,
// missing Secret apps-secret-vars are what the Kustomization apps
// substitutes from. A person may neither change nor delete the ConfigMap,
// a controller may not rewrite it nor create the Secret, and each denial
// names the Kustomization and shows no value; a label is no change of
// what it renders, and the agent's own writes pass.
func TestSubstituteFromInputIsHeld(t *testing.T) {
	const root = "Kustomization flux-system/apps"
	patch := func(as, data string) harness.Result {
		return env.kubectl.Run("", "-n", harness.FluxNamespace, "patch", "configmap", "apps-vars", "--type", "merge", "-p", `{"data":`+data+`}`, "--as", as)
	}
	expectDenied(t, patch(person, `{"greeting":"evil"}`), "[root-input]", root, "spec.postBuild.substituteFrom")
	expectDenied(t, env.kubectl.Run("", "-n", harness.FluxNamespace, "delete", "configmap", "apps-vars", "--as", person), "[root-input]", root)
	expectDenied(t, patch(operator, `{"image":"evil"}`), "[root-input]", root, "judged as a controller")
	r := env.kubectl.Run("", "-n", harness.FluxNamespace, "create", "secret", "generic", "apps-secret-vars", "--from-literal=greeting=s3cr3t-value", "--as", operator)
	expectDenied(t, r, "[root-input]", root)
	if strings.Contains(r.Stderr, "s3cr3t-value") || strings.Contains(r.Stderr, "czNjcjN0LXZhbHVl") {
		t.Errorf("the denial shows the Secret's value: %s", r.Stderr)
	}
	if got := getIn(t, harness.FluxNamespace, "configmap/apps-vars", "{.data}"); got != `{"greeting":"hello"}` {
		t.Errorf("apps-vars holds %s", got)
	}

	label := []string{"-n", harness.FluxNamespace, "label", "configmap", "apps-vars", "team=web", "--as", operator}
	expectAllowed(t, env.kubectl.Run("", label...))
	expectAllowed(t, env.kubectl.Run("", "-n", harness.FluxNamespace, "label", "configmap", "apps-vars", "team-", "--as", operator))
	expectAllowed(t, env.kubectl.Run("", "-n", harness.FluxNamespace, "patch", "configmap", "apps-vars", "--type", "merge",
		"-p", `{"data":{"greeting":"hola"}}`, "--dry-run=server", "--as", harness.Agent))
	expectAllowed(t, env.kubectl.Run("", "-n", harness.FluxNamespace, "annotate", "configmap", "apps-vars", "reviewed=yes", "--as", harness.Agent))
}

// getIn reads jsonpath of obj in namespace.
func getIn(t *testing.T, namespace, obj, jsonpath string) string {
	t.Helper()
	r := env.kubectl.Run("", "-n", namespace, "get", obj, "-o", "jsonpath="+jsonpath)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}
