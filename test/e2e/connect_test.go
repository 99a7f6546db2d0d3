package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// kubectl exec, attach and port-forward are CONNECT requests. The API
// server asks the webhook before it dials the kubelet, and no kubelet
// runs here: a CONNECT gitgate refuses fails with gitgate's denial, one it
// lets through fails later, reaching for the Pod's node (a Node object
// without an address).

const (
	// execNode is the Node the test Pods are bound to, without an
	// address. The API server asks admission before it looks up the Pod
	// (the raw exec into a Pod that does not exist, below, meets gitgate)
	// and its node; binding the Pods makes every CONNECT let through fail
	// alike, on the node's missing address.
	execNode = "connect-node"
	// debugger is a controller (the default --controller) allowed to exec
	// into any Pod.
	debugger = "system:serviceaccount:ops:debugger"
)

// TestConnectIntoPods: nobody but exempt identities and agents reaches
// into the agent's Pod, whatever --connect, the mode or a grant says; with
// the default --controller every Pod runs as a controller, so people reach
// into none; with --controller narrowed, people's other CONNECTs follow
// --connect.
func TestConnectIntoPods(t *testing.T) {
	applyShop(t)
	setupConnectPods(t)
	t.Run("defaults", func(t *testing.T) {
		r := env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", person, "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token")
		wantDenied(t, r, "[agent-token]", "CONNECT of Pod flux-system/kc (exec) by dev-user", "service account flux-system/kustomize-controller, which is agent")
		r = env.kubectl.Run("", "-n", "flux-system", "attach", "kc", "--as", person)
		wantDenied(t, r, "[agent-token]", "(attach)")
		r = env.kubectl.Run("", "-n", "flux-system", "port-forward", "pod/kc", "18080:8080", "--as", person)
		wantDenied(t, r, "[agent-token]", "(portforward)")
		r = env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", debugger, "--", "true")
		wantDenied(t, r, "[agent-token]", "judged as a controller")
		r = env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", person, "--", "true")
		wantDenied(t, r, "[controller-token]", "service account shop/default, which is controller", "leave it out of --controller")
		// Past gitgate: a controller into a controller's Pod, the agent into
		// its own, an exempt identity anywhere.
		wantPastGitgate(t, env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", debugger, "--", "true"))
		wantPastGitgate(t, env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", agent, "--", "true"))
		wantPastGitgate(t, env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", exemptController, "--", "true"))
		// A Pod gitgate cannot read is refused, never let through. kubectl
		// exec reads the Pod first; a raw POST reaches admission as is.
		empty := filepath.Join(t.TempDir(), "empty")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r = env.kubectl.Run("", "create", "--raw", "/api/v1/namespaces/shop/pods/ghost/exec?command=true&stdout=true", "-f", empty, "--as", person)
		wantDenied(t, r, "[pod-unknown]", "cannot read the service account of Pod shop/ghost", "not found")
	})
	// shop's Pods run as a service account of no class from here on.
	narrowed := []string{"--controller", "system:serviceaccount:ops:*"}
	t.Run("deny-people", func(t *testing.T) {
		gg := env.stack.SwapGitgate(t, append(narrowed, "--mode", "warn")...)
		r := env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", person, "--", "true")
		wantDenied(t, r, "[connect]", "(--connect deny-people)", "break-glass")
		grant(t, gg, "inc-exec")
		r = env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", person, "--", "true")
		wantPastGitgate(t, r)
		waitForLog(t, gg, `"decision":"break-glass","reason":"connect"`)
		// The grant covers neither the agent's Pod nor a controller's.
		r = env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", person, "--", "true")
		wantDenied(t, r, "[agent-token]", "neither the mode nor break-glass changes this")
		r = env.kubectl.Run("", "-n", "ops", "exec", "op", "--as", person, "--", "true")
		wantDenied(t, r, "[controller-token]")
	})
	t.Run("judge", func(t *testing.T) {
		gg := env.stack.SwapGitgate(t, append(narrowed, "--connect", "judge", "--mode", "warn")...)
		wantPastGitgate(t, env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", person, "--", "true"))
		waitForLog(t, gg, `"decision":"warned","reason":"connect"`)
		r := env.kubectl.Run("", "-n", "flux-system", "exec", "kc", "--as", person, "--", "true")
		wantDenied(t, r, "[agent-token]")
	})
	t.Run("allow", func(t *testing.T) {
		env.stack.SwapGitgate(t, append(narrowed, "--connect", "allow")...)
		wantPastGitgate(t, env.kubectl.Run("", "-n", "shop", "exec", "app", "--as", person, "--", "true"))
		wantPastGitgate(t, env.kubectl.Run("", "-n", "shop", "port-forward", "pod/app", "18081:8080", "--as", person))
		r := env.kubectl.Run("", "-n", "flux-system", "port-forward", "pod/kc", "18082:8080", "--as", person)
		wantDenied(t, r, "[agent-token]")
	})
}

// setupConnectPods makes a Node without an address, the agent's Pod
// flux-system/kc, a Pod shop/app whose spec names no service account, an
// operator's Pod ops/op, all bound to the Node and Running, and lets the
// controller debugger exec, attach and port-forward everywhere.
func setupConnectPods(t *testing.T) {
	t.Helper()
	ensureNamespace(t, "flux-system")
	ensureNamespace(t, "ops")
	pod := func(ns, name, sa string) string {
		spec := ""
		if sa != "" {
			spec = "  serviceAccountName: " + sa + "\n"
		}
		return "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n" + spec +
			"  nodeName: " + execNode + "\n  containers: [{name: app, image: \"busybox:1.36\", ports: [{containerPort: 8080}]}]\n"
	}
	setup := `apiVersion: v1
kind: Node
metadata: {name: ` + execNode + `}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: connect-pods}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [pods/exec, pods/attach, pods/portforward]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: connect-debugger}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: connect-pods}
subjects:
- {kind: ServiceAccount, name: debugger, namespace: ops}
` + pod("flux-system", "kc", "kustomize-controller") + pod("shop", "app", "") + pod("ops", "op", "operator")
	if r := env.kubectl.Run(setup, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		for _, p := range []string{"flux-system/kc", "shop/app", "ops/op"} {
			ns, name, _ := strings.Cut(p, "/")
			env.kubectl.Run("", "-n", ns, "delete", "pod", name, "--as", exemptController, "--wait=false", "--grace-period=0", "--force")
		}
		env.kubectl.Run("", "delete", "clusterrolebinding/connect-debugger", "clusterrole/connect-pods", "node/"+execNode, "--as", exemptController)
	})
	// port-forward and attach want a running Pod; no kubelet says so here.
	for _, p := range []string{"flux-system/kc", "shop/app", "ops/op"} {
		ns, name, _ := strings.Cut(p, "/")
		mustRun(t, "-n", ns, "patch", "pod", name, "--subresource", "status", "--type", "merge",
			"-p", `{"status":{"phase":"Running"}}`, "--as", exemptController)
	}
}

// wantPastGitgate: the CONNECT got past admission and failed only where
// the API server reaches for the Pod's kubelet.
func wantPastGitgate(t *testing.T, r harness.Result) {
	t.Helper()
	switch {
	case !r.Failed():
		t.Errorf("%s: succeeded without a kubelet?\n%s", r.CommandLine(), r.Stdout)
	case strings.Contains(r.Stderr, "validate.gitgate.dev"):
		t.Errorf("%s: want past gitgate, got its denial:\n%s", r.CommandLine(), r.Stderr)
	case !strings.Contains(r.Stderr, "no preferred addresses found"):
		t.Errorf("%s: want the API server's failure to reach node %s, got:\n%s", r.CommandLine(), execNode, r.Stderr)
	}
}

// grant writes a break-glass grant for the person until the test ends and
// waits until gg has loaded it.
func grant(t *testing.T, gg *harness.Gitgate, name string) {
	t.Helper()
	ensureNamespace(t, harness.GitgateNamespace)
	if _, err := harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "grant", name, "--user", person, "--for", "10m", "--reason", "INC exec"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = harness.BreakGlass(env.stack.ControlPlane.Kubeconfig, "revoke", name) })
	waitForLog(t, gg, `"grants":["`+name+`"]`)
}

// waitForLog waits until gg's log holds s.
func waitForLog(t *testing.T, gg *harness.Gitgate, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(gg.Logs(), s) {
			return
		}
	}
	t.Fatalf("gitgate's log lacks %s:\n%s", s, harness.Tail(gg.Logs(), 20))
}
