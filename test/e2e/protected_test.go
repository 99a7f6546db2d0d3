package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lbController is a service account of an operator, judged as a
// controller, with the right to change Services.
const lbController = "system:serviceaccount:ops:lb-controller"

// TestControllerMayNotRerouteADeclaredService: CVE-2020-8554's
// interception pattern, externalIPs on a Service, by any service account,
// is refused on the Service Git declares even though Git does not declare
// externalIPs; so is making it a LoadBalancer. An annotation stays free.
func TestControllerMayNotRerouteADeclaredService(t *testing.T) {
	applyShop(t)
	binding := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lb-controller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: lb-controller, namespace: ops}
`
	if r := env.kubectl.Run(binding, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() { env.kubectl.Run("", "delete", "clusterrolebinding", "lb-controller", "--as", exemptController) })
	r := env.kubectl.Run("", "-n", "shop", "patch", "service", "web", "--as", lbController, "-p", `{"spec":{"externalIPs":["1.2.3.4"]}}`)
	wantDenied(t, r, "spec.externalIPs", "judged as a controller", "gitgate protects this field even where Git does not declare it")
	r = env.kubectl.Run("", "-n", "shop", "patch", "service", "web", "--as", lbController, "-p", `{"spec":{"type":"LoadBalancer"}}`)
	wantDenied(t, r, "spec.type")
	if got := jsonpath(t, "service/web", "{.spec.externalIPs}{.spec.type}"); got != "ClusterIP" {
		t.Errorf("service after the refusals: %q, want ClusterIP and no externalIPs", got)
	}
	mustRun(t, "-n", "shop", "annotate", "service", "web", "--as", lbController, "example.com/lb-checked=yes")
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "shop", "annotate", "service", "web", "--as", agent, "example.com/lb-checked-")
	})
}

// TestPersonCreatingBeforeTheAgentLeavesAllocationToTheAPIServer: a person
// who creates the declared Service before the agent may not make it
// headless, nor choose its address: both are immutable, and the agent's
// apply could never repair them. Git's manifest as it is passes.
func TestPersonCreatingBeforeTheAgentLeavesAllocationToTheAPIServer(t *testing.T) {
	removeShop(t)
	t.Cleanup(func() { applyShop(t) })
	mustRun(t, "apply", "--as", agent, "-f", filepath.Join(env.fixture, "00-namespace.yaml"))
	web, err := os.ReadFile(filepath.Join(env.fixture, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, service, _ := strings.Cut(string(web), "\n---\n")
	for _, ip := range []string{"None", "10.0.0.211"} {
		pinned := strings.Replace(service, "spec:\n", "spec:\n  clusterIP: "+ip+"\n", 1)
		r := env.kubectl.Run(pinned, "create", "-f", "-", "--as", person)
		wantDenied(t, r, "spec.clusterIP")
	}
	if r := env.kubectl.Run(service, "create", "-f", "-", "--as", person); r.Failed() {
		t.Fatalf("creating Git's manifest as it is: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}
