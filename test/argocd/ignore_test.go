package argocd

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// The Application TestManagedFieldsManagers declares: it syncs
// apps/ignored and leaves to field manager operatorManager, in Argo CD's
// words, the ConfigMaps' fields that manager owns.
var ignoredApp = harness.ArgoCDApplication{Name: "ignored", Path: "apps/ignored", Namespace: "argo-ignored"}

const (
	operatorManager = "some-operator"
	// operator is a service account of an operator, judged as a
	// controller, with cluster-admin's rights.
	operator = "system:serviceaccount:argo-ignored:some-operator"
)

// ignoredAppYAML is ignoredApp with RespectIgnoreDifferences (Argo CD's
// sync leaves the ignored fields as they are) and its ignoreDifferences.
func ignoredAppYAML() string {
	return ignoredApp.YAML() + `    - RespectIgnoreDifferences=true
  ignoreDifferences:
  - kind: ConfigMap
    name: operated
    managedFieldsManagers: [` + operatorManager + `]
`
}

const operatedYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: operated
data:
  greeting: hello
  owner: git
`

// TestManagedFieldsManagers: an Application's
// ignoreDifferences.managedFieldsManagers leave a declared field to a
// controller that writes it under a listed field manager (kubectl --as a
// service account --field-manager some-operator); the same change under
// another field manager is refused, and so is a person's under the listed
// one. The real application controller keeps the Application Synced
// around the operator's value (Argo CD's diff ignores it too).
func TestManagedFieldsManagers(t *testing.T) {
	ignoredApp.RepoURL = env.git.HTTPURL()
	head := env.git.MustCommit(t, harness.Change{Message: "declare an Application with managedFieldsManagers", Write: map[string]string{
		argoFolder + "/ignored.yaml": ignoredAppYAML(),
		"apps/ignored/operated.yaml": operatedYAML,
	}})
	if err := env.argocd.Refresh(rootApp.Name); err != nil {
		t.Fatal(err)
	}
	if err := env.argocd.WaitSynced(ignoredApp.Name, head, syncTimeout); err != nil {
		t.Fatal(err)
	}
	grantOperator(t)
	waitDeclared(t)
	ns := ignoredApp.Namespace
	patch := func(greeting string, as string, manager string) harness.Result {
		return env.kubectl.Run("", "-n", ns, "patch", "configmap", "operated", "--as", as, "--field-manager", manager,
			"-p", `{"data":{"greeting":"`+greeting+`"}}`)
	}
	refusal := "Application " + harness.ArgoCDNamespace + "/" + ignoredApp.Name
	// Another field manager: Argo CD would show the difference.
	harness.WantDenied(t, patch("other", operator, "other-operator"), refusal, "data.greeting")
	// A person, whatever field manager they name.
	harness.WantDenied(t, patch("person", person, operatorManager), refusal)
	if got := get(t, ns, "configmap/operated", "{.data.greeting}"); got != "hello" {
		t.Fatalf("greeting = %q after the refusals, want hello", got)
	}
	// The listed field manager, from a controller: free.
	if r := patch("operator", operator, operatorManager); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	// A field the listed manager does not own stays Git's, written under
	// another name.
	r := env.kubectl.Run("", "-n", ns, "patch", "configmap", "operated", "--as", operator, "--field-manager", "other-operator",
		"-p", `{"data":{"owner":"other"}}`)
	harness.WantDenied(t, r, refusal, "data.owner")
	if got := get(t, ns, "configmap/operated", "{.data.greeting}"); got != "operator" {
		t.Errorf("greeting = %q, want the operator's", got)
	}
	wantStillSynced(t, head)
}

// grantOperator binds cluster-admin to operator, as a cluster-admin in
// kube-system (exempt) would.
func grantOperator(t *testing.T) {
	t.Helper()
	binding := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argo-ignored-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: some-operator, namespace: argo-ignored}
`
	if r := env.kubectl.Run(binding, "apply", "-f", "-", "--as", harness.ExemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "delete", "clusterrolebinding", "argo-ignored-operator", "--as", harness.ExemptController)
	})
}

// waitDeclared waits until gitgate has rendered ignoredApp: a person's
// change of its ConfigMap (a server-side dry run) is refused naming it.
// Argo CD synced it already, but gitgate fetches and renders on its own.
func waitDeclared(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := env.kubectl.Run("", "-n", ignoredApp.Namespace, "patch", "configmap", "operated", "--as", person, "--dry-run=server",
			"-p", `{"data":{"greeting":"probe"}}`)
		if r.Failed() && strings.Contains(r.Stderr, "Application "+harness.ArgoCDNamespace+"/"+ignoredApp.Name) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitgate never declared %s's ConfigMap: %s\n%s", ignoredApp.Name, r.CommandLine(), r.Stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// wantStillSynced: after a refresh, the application controller reports
// ignoredApp Synced at head with the operator's value in place.
func wantStillSynced(t *testing.T, head string) {
	t.Helper()
	if err := env.argocd.Refresh(ignoredApp.Name); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(syncTimeout)
	for get(t, harness.ArgoCDNamespace, "applications.argoproj.io/"+ignoredApp.Name, `{.metadata.annotations.argocd\.argoproj\.io/refresh}`) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("Argo CD never refreshed %s", ignoredApp.Name)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := env.argocd.WaitSynced(ignoredApp.Name, head, 30*time.Second); err != nil {
		t.Error(err)
	}
	if got := get(t, ignoredApp.Namespace, "configmap/operated", "{.data.greeting}"); got != "operator" {
		t.Errorf("greeting = %q after Argo CD's refresh, want the operator's", got)
	}
}
