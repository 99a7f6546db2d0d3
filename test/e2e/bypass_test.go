package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// The ways around Git an adversarial review found, each tried as a person
// would type it, through the API server and the shipped webhook
// configuration.

// TestPersonScaleOfUndeclaredDeploymentIsDenied: a Deployment Git does not
// declare (made by Helm, say) cannot be scaled by hand any more than
// edited.
func TestPersonScaleOfUndeclaredDeploymentIsDenied(t *testing.T) {
	applyShop(t)
	mustRun(t, "-n", "shop", "create", "deployment", "helm-made", "--image", "nginx:1.27", "--as", exemptController)
	defer env.kubectl.Run("", "-n", "shop", "delete", "deployment", "helm-made", "--as", exemptController)
	r := env.kubectl.Run("", "-n", "shop", "scale", "deployment", "helm-made", "--replicas", "5", "--as", person)
	wantDenied(t, r, "Git does not declare this object")
}

// TestBreakGlassNeverCoversTheModeLabel: a grant lets a person change
// declared objects, but not switch enforcement off for good.
func TestBreakGlassNeverCoversTheModeLabel(t *testing.T) {
	applyShop(t)
	ensureNamespace(t, harness.GitgateNamespace)
	if _, err := harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "grant", "inc-9", "--user", person, "--for", "10m", "--reason", "INC-9"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "revoke", "inc-9") }()
	waitForGrant(t, "inc-9")
	// The grant works for an ordinary change...
	r := env.kubectl.Run("", "label", "namespace", "shop", "hotfix=inc-9", "--as", person)
	if r.Failed() || !strings.Contains(r.Stderr, "break-glass grant inc-9") {
		t.Fatalf("a change under the grant: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	defer env.kubectl.Run("", "label", "namespace", "shop", "hotfix-", "--as", agent)
	// ...but not for the mode label.
	r = env.kubectl.Run("", "label", "namespace", "shop", "gitgate.dev/mode=audit", "--as", person)
	wantDenied(t, r, "Break-glass never covers the gitgate.dev/mode label")
	if got := jsonpath(t, "namespace/shop", `{.metadata.labels.gitgate\.dev/mode}`); got != "" {
		t.Errorf("mode label = %q after a denied change", got)
	}
}

// TestPersonSubresourceWritesAreDenied: status of any object, a declared
// Namespace's finalize, a debug container, an in-place resize.
func TestPersonSubresourceWritesAreDenied(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "-n", "shop", "patch", "deployment", "web", "--subresource", "status", "--type", "merge",
		"-p", `{"status":{"observedGeneration":42}}`, "--as", person)
	wantDenied(t, r, "status")
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tools","namespace":"shop"},"spec":{"containers":[{"name":"tools","image":"busybox:1.36","resources":{"requests":{"cpu":"100m"}}}]}}`
	if r := env.kubectl.Run(pod, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	defer env.kubectl.Run("", "-n", "shop", "delete", "pod", "tools", "--as", exemptController, "--wait=false")
	// A label written through status stays (the status strategy resets only
	// the spec): relabelling a Pod so a declared Service selects it.
	r = env.kubectl.Run("", "-n", "shop", "patch", "pod", "tools", "--subresource", "status", "--type", "merge",
		"-p", `{"metadata":{"labels":{"app":"web"}}}`, "--as", person)
	wantDenied(t, r, "Git does not declare this object")
	if got := jsonpath(t, "pod/tools", "{.metadata.labels.app}"); got != "" {
		t.Errorf("label app = %q after a denied status write", got)
	}
	// The load-balancer address of a Service Git does not declare (a Helm
	// release's) is read as truth too: external-dns publishes it.
	svc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"helm-made","namespace":"shop"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}`
	if r := env.kubectl.Run(svc, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	defer env.kubectl.Run("", "-n", "shop", "delete", "service", "helm-made", "--as", exemptController, "--wait=false")
	r = env.kubectl.Run("", "-n", "shop", "patch", "service", "helm-made", "--subresource", "status", "--type", "merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.9"}]}}}`, "--as", person)
	wantDenied(t, r, "a person may not write its status")
	// A declared Namespace's finalizers: without "kubernetes" a deletion
	// skips the cleanup of what it holds.
	r = env.kubectl.Run(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"},"spec":{"finalizers":[]}}`,
		"replace", "--raw", "/api/v1/namespaces/shop/finalize", "-f", "-", "--as", person)
	wantDenied(t, r, "(finalize)")
	if got := jsonpath(t, "namespace/shop", "{.spec.finalizers}"); !strings.Contains(got, "kubernetes") {
		t.Errorf("spec.finalizers = %q after a denied finalize", got)
	}
	r = env.kubectl.Run("", "-n", "shop", "debug", "tools", "--image", "busybox:1.36", "--as", person)
	wantDenied(t, r, "(ephemeralcontainers)")
	r = env.kubectl.Run("", "-n", "shop", "patch", "pod", "tools", "--subresource", "resize", "--type", "merge",
		"-p", `{"spec":{"containers":[{"name":"tools","resources":{"requests":{"cpu":"200m"}}}]}}`, "--as", person)
	wantDenied(t, r, "(resize)")
}

// TestPersonMintsTheAgentsToken: whoever holds the agent's token is the
// agent; only exempt identities (the kubelet) may ask for it.
func TestPersonMintsTheAgentsToken(t *testing.T) {
	applyShop(t)
	ensureNamespace(t, "flux-system")
	if r := env.kubectl.Run("", "-n", "flux-system", "get", "serviceaccount", "kustomize-controller"); r.Failed() {
		mustRun(t, "-n", "flux-system", "create", "serviceaccount", "kustomize-controller", "--as", exemptController)
	}
	r := env.kubectl.Run("", "-n", "flux-system", "create", "token", "kustomize-controller", "--as", person)
	wantDenied(t, r, "whoever holds its token acts as it")
	if r := env.kubectl.Run("", "-n", "flux-system", "create", "token", "kustomize-controller", "--as", exemptController); r.Failed() {
		t.Errorf("an exempt identity mints the token: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	// Any service account's token would make the person a controller.
	mustRun(t, "-n", "shop", "create", "serviceaccount", "web", "--as", exemptController)
	defer env.kubectl.Run("", "-n", "shop", "delete", "serviceaccount", "web", "--as", exemptController)
	r = env.kubectl.Run("", "-n", "shop", "create", "token", "web", "--as", person)
	wantDenied(t, r, "judged as a controller, past the rules for people")
}

// TestPersonEndpointSliceIsDenied: an EndpointSlice labelled with a
// declared Service's name would send its traffic elsewhere.
func TestPersonEndpointSliceIsDenied(t *testing.T) {
	applyShop(t)
	slice := `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-evil","namespace":"shop",` +
		`"labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["203.0.113.7"]}],"ports":[{"port":8080}]}`
	r := env.kubectl.Run(slice, "apply", "-f", "-", "--as", person)
	wantDenied(t, r, "Git does not declare this object")
}

// ensureNamespace creates namespace ns as an exempt controller if missing.
func ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	if r := env.kubectl.Run("", "get", "namespace", ns, "-o", "name"); r.Failed() {
		mustRun(t, "create", "namespace", ns, "--as", exemptController)
	}
}

// waitForGrant waits until gitgate's watch has loaded grant name.
func waitForGrant(t *testing.T, name string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if strings.Contains(env.stack.Gitgate.Logs(), `"grants":["`+name+`"]`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("gitgate did not load grant %s", name)
}

// TestDeletingTheCRDOfDeclaredResourcesIsDenied: a CRD installed from
// elsewhere (a Helm chart) is not in Git, but deleting it deletes the
// custom resources Git declares.
func TestDeletingTheCRDOfDeclaredResourcesIsDenied(t *testing.T) {
	applyShop(t)
	const crd = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
"spec":{"group":"example.com","scope":"Namespaced","names":{"kind":"Widget","plural":"widgets","singular":"widget","listKind":"WidgetList"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`
	installCRDFromElsewhere(t, crd, "widgets.example.com")
	declare(t, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  size: 3\n")
	r := env.kubectl.Run("", "delete", "crd", "widgets.example.com", "--as", person)
	wantDenied(t, r, "Git declares objects of this CustomResourceDefinition's kind")
}

// TestGitgateExemptsItself: gitgate learns its own user name and never
// judges its own writes.
func TestGitgateExemptsItself(t *testing.T) {
	if logs := env.stack.Gitgate.Logs(); !strings.Contains(logs, `"msg":"exempting gitgate's own identity"`) {
		t.Errorf("gitgate did not learn its own identity:\n%s", harness.Tail(logs, 30))
	}
}

// TestPersonCreatingBeforeTheAgentMayAddNothing: a person who creates a
// declared object before the GitOps agent may not add fields Git leaves
// out (the agent's apply would keep them); Git's manifest as it is passes.
func TestPersonCreatingBeforeTheAgentMayAddNothing(t *testing.T) {
	removeShop(t)
	t.Cleanup(func() { applyShop(t) })
	mustRun(t, "apply", "--as", agent, "-f", filepath.Join(env.fixture, "00-namespace.yaml"))
	web, err := os.ReadFile(filepath.Join(env.fixture, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployment, _, _ := strings.Cut(string(web), "\n---\n")
	hostNet := strings.Replace(deployment, "      containers:", "      hostNetwork: true\n      containers:", 1)
	r := env.kubectl.Run(hostNet, "create", "-f", "-", "--as", person)
	wantDenied(t, r, "spec.template.spec.hostNetwork")
	r = env.kubectl.Run(deployment, "create", "-f", "-", "--as", person)
	if r.Failed() {
		t.Fatalf("creating Git's manifest as it is: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// TestPersonCreatingClusterScopedBeforeTheAgentIsDenied: gitgate may
// create nothing outside its sandbox namespace, so it cannot learn a
// cluster-scoped object's defaults: a person's create of a declared one,
// even as Git declares it, is refused (fail closed) with the way out; the
// agent's create goes through.
func TestPersonCreatingClusterScopedBeforeTheAgentIsDenied(t *testing.T) {
	const role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shop-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\"]\n  verbs: [\"get\"]\n"
	declare(t, "shop-reader.yaml", role)
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "clusterrole", "shop-reader", "--ignore-not-found", "--as", agent)
	})
	r := env.kubectl.Run(role, "create", "-f", "-", "--as", person)
	wantDenied(t, r, "could not learn what the API server makes of Git's manifest", "cluster-scoped", "let the GitOps agent create this object, or use break-glass")
	if r := env.kubectl.Run(role, "create", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// TestSelectorOfCustomResourceWithoutCRDInGitIsExact: a policy kind whose
// CRD comes from elsewhere has no schema in Git, yet its selector still
// means what it says: a label with an empty value added to it would make
// the policy select nothing.
func TestSelectorOfCustomResourceWithoutCRDInGitIsExact(t *testing.T) {
	applyShop(t)
	const crd = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"meshpolicies.example.com"},
"spec":{"group":"example.com","scope":"Namespaced","names":{"kind":"MeshPolicy","plural":"meshpolicies","singular":"meshpolicy","listKind":"MeshPolicyList"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`
	installCRDFromElsewhere(t, crd, "meshpolicies.example.com")
	const policy = "apiVersion: example.com/v1\nkind: MeshPolicy\nmetadata:\n  name: deny-all\n  namespace: shop\nspec:\n  endpointSelector:\n    matchLabels:\n      app: web\n  ingress: []\n"
	declare(t, "meshpolicy.yaml", policy)
	if r := env.kubectl.Run(policy, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() { env.kubectl.Run("", "-n", "shop", "delete", "meshpolicy", "deny-all", "--as", agent) })
	// In declared mode, where a field Git does not declare is free, so
	// that only the selector's meaning stands in the way.
	env.stack.SwapGitgate(t, "--fields", "declared")
	if r := env.kubectl.Run(policy, "apply", "-f", "-", "--as", person); r.Failed() {
		t.Fatalf("a person's apply of Git's manifest as it is: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "shop", "patch", "meshpolicy", "deny-all", "--type", "merge", "-p", `{"spec":{"note":"free"}}`, "--as", person)
	r := env.kubectl.Run("", "-n", "shop", "patch", "meshpolicy", "deny-all", "--type", "merge",
		"-p", `{"spec":{"endpointSelector":{"matchLabels":{"nobody":""}}}}`, "--as", person)
	wantDenied(t, r, "spec.endpointSelector")
}

// installCRDFromElsewhere installs a CRD that Git does not declare, as a
// Helm chart would, until the test ends.
func installCRDFromElsewhere(t *testing.T, crd, name string) {
	t.Helper()
	if r := env.kubectl.Run(crd, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "crd", name, "--as", exemptController, "--wait=false")
	})
	mustRun(t, "wait", "--for=condition=Established", "--timeout=30s", "crd/"+name)
}

// declare commits a manifest to Git until the test ends, and waits for
// gitgate to enforce each revision.
func declare(t *testing.T, file, manifest string) {
	t.Helper()
	hash, err := env.stack.Git.Commit(harness.Change{Write: map[string]string{file: manifest}, Message: "declare " + file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back, err := env.stack.Git.Commit(harness.Change{Delete: []string{file}, Message: "drop " + file})
		if err != nil {
			t.Fatal(err)
		}
		waitForRevision(t, back)
	})
	waitForRevision(t, hash)
}

// TestControllerMayNotDebugTheAgentsPod: an ephemeral container may mount
// its Pod's service account token, so a service account allowed to debug
// Pods in flux-system may not add one to kustomize-controller's Pod, and
// becomes no agent that way. A Pod of no agent it may debug.
func TestControllerMayNotDebugTheAgentsPod(t *testing.T) {
	const debugger = "system:serviceaccount:ops:debugger"
	setup := `apiVersion: v1
kind: Namespace
metadata: {name: flux-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: kustomize-controller, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: debug-pods}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [pods/ephemeralcontainers]
  verbs: [get, patch, update]
`
	for _, p := range []struct{ ns, name, sa string }{{"flux-system", "kc", "kustomize-controller"}, {"ops", "plain", "default"}} {
		setup += `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: debugger, namespace: ` + p.ns + `}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: debug-pods}
subjects:
- {kind: ServiceAccount, name: debugger, namespace: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: ` + p.name + `, namespace: ` + p.ns + `}
spec:
  serviceAccountName: ` + p.sa + `
  containers: [{name: app, image: "busybox:1.36"}]
`
	}
	if r := env.kubectl.Run(setup, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "flux-system", "delete", "pod/kc", "rolebinding/debugger", "--as", exemptController, "--wait=false")
		env.kubectl.Run("", "-n", "ops", "delete", "pod/plain", "rolebinding/debugger", "--as", exemptController, "--wait=false")
		env.kubectl.Run("", "delete", "clusterrole", "debug-pods", "--as", exemptController)
	})
	r := env.kubectl.Run("", "-n", "flux-system", "debug", "kc", "--image", "busybox:1.36", "--as", debugger)
	wantDenied(t, r, "service account flux-system/kustomize-controller")
	// The same rights on a Pod of no agent: RBAC alone decides.
	mustRun(t, "-n", "ops", "debug", "plain", "--image", "busybox:1.36", "--as", debugger)
}
