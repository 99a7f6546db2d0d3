package argocd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// Argo CD's sync impersonation (argocd-cm application.sync.impersonation.enabled):
// the application controller applies the Applications of the AppProject
// impProject as the service account impUser, with its own cluster
// Secret's token and Impersonate-User. The API server then authenticates
// the write as impUser itself (groups system:serviceaccounts,
// system:serviceaccounts:argo-imp, system:authenticated; nothing says who
// impersonated it), so the shipped matchConditions send it to gitgate,
// which knows impUser as the sync agent of impApp's objects alone.
const (
	impProject   = "imp"
	impNamespace = "argo-imp"
	impAccount   = "deployer"
	impUser      = "system:serviceaccount:" + impNamespace + ":" + impAccount
)

// impApp is in impProject; the test declares it in Git, next to the
// others, and the root Application creates it.
var impApp = harness.ArgoCDApplication{Name: "imp", Path: "apps/imp", Namespace: impNamespace}

// impersonationSetup turns impersonation on, with enforcement off, so
// that the default project's Applications, which have no
// destinationServiceAccounts, still sync as the controller, the agent.
// impProject gives impAccount for its namespace on any server: "*" is the
// one server glob gitgate can match against a destination named by a
// cluster Secret. impAccount may do anything in its namespace and edit
// ConfigMaps everywhere, so that RBAC lets it reach other Applications'
// objects and gitgate alone stands in the way. The application
// controller's cluster-admin binding (harness) holds the impersonate verb
// on serviceaccounts. An admin writes all of it before gitgate.
const impersonationSetup = `
apiVersion: v1
kind: Namespace
metadata: {name: argo-imp}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: argo-imp}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: argo-imp}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: argo-imp}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: argo-imp}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: imp-deployer-configmaps}
rules:
- {apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: imp-deployer-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: imp-deployer-configmaps}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: argo-imp}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: imp, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations:
  - {name: "*", server: "*", namespace: argo-imp}
  destinationServiceAccounts:
  - {server: "*", namespace: argo-imp, defaultServiceAccount: deployer}
`

// setupImpersonation applies impersonationSetup and turns impersonation
// on in argocd-cm; setup calls it before gitgate's webhook is registered.
func setupImpersonation() error {
	k := env.argocd.Kubectl
	if r := k.Run(impersonationSetup, "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("set up impersonation: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	patch := `{"data":{"application.sync.impersonation.enabled":"true","application.sync.impersonation.enforced":"false"}}`
	if r := k.Run("", "-n", harness.ArgoCDNamespace, "patch", "configmap", "argocd-cm", "--type", "merge", "-p", patch); r.Failed() {
		return fmt.Errorf("turn impersonation on: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}

// impApplicationYAML is impApp in impProject, into its existing
// namespace (impAccount may not create Namespaces), with retries: its
// account is judged by gitgate as a controller, so a sync that reaches
// gitgate before gitgate has loaded the revision is refused once, and
// Argo CD's automated sync never retries a failed revision by itself.
func impApplicationYAML() string {
	y := strings.Replace(impApp.YAML(), "project: default", "project: "+impProject, 1)
	y = strings.Replace(y, "      prune: true\n", "      prune: true\n    retry:\n      limit: 10\n      backoff: {duration: 1s, factor: 2, maxDuration: 8s}\n", 1)
	return strings.Replace(y, "    syncOptions:\n    - CreateNamespace=true\n", "", 1)
}

// TestImpersonatedSyncIsTheRootsSyncAgent: the real application
// controller syncs impApp as impUser through gitgate (the matchConditions
// skip only the controller's own identity), whose writes of Git's values
// pass, its PreSync hook's delete and create included; impUser is impApp's sync agent, not its agent, since
// argocd-server acts as impUser too for people's edits in its UI: its
// edit of impApp's object away from Git is refused as a controller's, as
// is its edit of another Application's object; a person's edit of impApp's
// object is refused naming impApp.
func TestImpersonatedSyncIsTheRootsSyncAgent(t *testing.T) {
	impApp.RepoURL = env.git.HTTPURL()
	commitAndSync(t, "declare the impersonated Application", map[string]string{argoFolder + "/impersonated.yaml": impApplicationYAML()})
	// Argo CD says whom it synced as.
	if want := `serviceAccount="` + impUser + `"`; !strings.Contains(env.argocd.Controller.Logs(), want) {
		t.Errorf("the application controller's logs never say %s", want)
	}
	if strings.Contains(env.gitgate.Logs(), "Application has no sync agent") {
		t.Errorf("gitgate found no agent for a root:\n%s", env.gitgate.Logs())
	}
	// A change in Git: the controller updates the object as impUser, and
	// gitgate judges the update, Git's value, as a controller's.
	commitAndSync(t, "change the impersonated Application's object", map[string]string{"apps/imp/settings.yaml": impSettings("hola")})
	if got := get(t, impNamespace, "configmap/imp-settings", "{.data.greeting}"); got != "hola" {
		t.Fatalf("imp-settings greeting = %q after the sync, want hola", got)
	}
	t.Run("its own root's object, as argocd-server would for a person", func(t *testing.T) {
		patch := func(v string) harness.Result {
			return env.kubectl.Run("", "-n", impNamespace, "patch", "configmap", "imp-settings", "--type", "merge",
				"-p", `{"data":{"greeting":"`+v+`"}}`, "--as", impUser)
		}
		harness.WantDenied(t, patch("not-in-git"), "Application "+harness.ArgoCDNamespace+"/"+impApp.Name, "data.greeting: Git has")
		if r := patch("hola"); r.Failed() {
			t.Errorf("Git's own value as %s: %s: %v\n%s", impUser, r.CommandLine(), r.Err, r.Stderr)
		}
	})
	// The PreSync hook: Argo CD deleted and created it as impUser at each
	// sync (BeforeHookCreation), as Git declares it.
	if got := get(t, impNamespace, "configmap/imp-presync", "{.data.step}"); got != "migrate" {
		t.Errorf("the PreSync hook's step = %q, want migrate", got)
	}
	t.Run("its live hook, as argocd-server would for a person", func(t *testing.T) {
		r := env.kubectl.Run("", "-n", impNamespace, "patch", "configmap", "imp-presync", "--type", "merge",
			"-p", `{"data":{"step":"drop-tables"}}`, "--as", impUser)
		harness.WantDenied(t, r, "Application "+harness.ArgoCDNamespace+"/"+impApp.Name, "data.step: Git has")
	})
	t.Run("another Application's object, as a controller", func(t *testing.T) {
		r := env.kubectl.Run("", "-n", plainApp.Namespace, "patch", "configmap", "settings", "--type", "merge",
			"-p", `{"data":{"greeting":"pwned"}}`, "--as", impUser)
		harness.WantDenied(t, r, personEditRefusal(plainApp.Name, "apps/plain/settings.yaml")...)
		t.Logf("kubectl patch as %s: %s", impUser, strings.TrimSpace(r.Stderr))
	})
	t.Run("a person's edit of the impersonated Application's object", func(t *testing.T) {
		r := env.kubectl.Run("", "-n", impNamespace, "patch", "configmap", "imp-settings", "--type", "merge",
			"-p", `{"data":{"greeting":"hi"}}`, "--as", person)
		harness.WantDenied(t, r, personEditRefusal(impApp.Name, "apps/imp/settings.yaml")...)
		t.Logf("kubectl patch as %s: %s", person, strings.TrimSpace(r.Stderr))
	})
}

func impSettings(greeting string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imp-settings\ndata:\n  greeting: " + greeting + "\n"
}

// commitAndSync commits files, refreshes the root Application and waits
// until impApp is synced at the new commit.
func commitAndSync(t *testing.T, message string, files map[string]string) string {
	t.Helper()
	head := env.git.MustCommit(t, harness.Change{Message: message, Write: files})
	if err := env.argocd.Refresh(rootApp.Name); err != nil {
		t.Fatal(err)
	}
	if r := env.kubectl.Run("", "-n", harness.ArgoCDNamespace, "get", "applications.argoproj.io", impApp.Name); !r.Failed() {
		if err := env.argocd.Refresh(impApp.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.argocd.WaitSynced(impApp.Name, head, syncTimeout); err != nil {
		t.Fatalf("%v\n%s", err, harness.Tail(env.argocd.Controller.Logs(), 40))
	}
	return head
}
