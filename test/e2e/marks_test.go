package e2e

import (
	"strings"
	"testing"
)

// markController is a service account of an operator, judged as a
// controller, with the right to change what it likes.
const markController = "system:serviceaccount:ops:mark-controller"

// TestAgentMarksAreGits: a person annotating the declared Service with
// Flux's reconcile disabled, which would have Flux stop correcting it, and
// a controller setting Argo CD's tracking-id, which hands it to another
// Application, are refused as agent-mark; an ordinary annotation by the
// controller passes.
func TestAgentMarksAreGits(t *testing.T) {
	applyShop(t)
	binding := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mark-controller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: mark-controller, namespace: ops}
`
	if r := env.kubectl.Run(binding, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "clusterrolebinding", "mark-controller", "--as", exemptController)
	})
	r := env.kubectl.Run("", "-n", "shop", "annotate", "service", "web", "--as", person, "kustomize.toolkit.fluxcd.io/reconcile=disabled")
	wantDenied(t, r, "[agent-mark]", `metadata.annotations["kustomize.toolkit.fluxcd.io/reconcile"]`, "no mode or break-glass grant covers them")
	r = env.kubectl.Run("", "-n", "shop", "annotate", "service", "web", "--as", markController, "argocd.argoproj.io/tracking-id=other:/Service:shop/web")
	wantDenied(t, r, "[agent-mark]", "argocd.argoproj.io/tracking-id", "judged as a controller")
	if got := jsonpath(t, "service/web", "{.metadata.annotations}"); strings.Contains(got, "reconcile") || strings.Contains(got, "tracking-id") {
		t.Errorf("annotations after the refusals: %s", got)
	}
	mustRun(t, "-n", "shop", "annotate", "service", "web", "--as", markController, "example.com/checked=yes")
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "shop", "annotate", "service", "web", "--as", agent, "example.com/checked-")
	})
}
