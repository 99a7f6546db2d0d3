package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// Argo CD's identities, as gitgate's defaults name them.
const (
	appSetController = "system:serviceaccount:argocd:argocd-applicationset-controller"
	notifications    = "system:serviceaccount:argocd:argocd-notifications-controller"
	argoServer       = "system:serviceaccount:argocd:argocd-server"
)

// argoSetup is what Argo CD's install gives the tests: its namespace and
// service accounts, each a cluster-admin (only gitgate stands in their
// way), and the Application controller's long-lived token Secret.
const argoSetup = `apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argocd-e2e}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: argocd-applicationset-controller, namespace: argocd}
- {kind: ServiceAccount, name: argocd-notifications-controller, namespace: argocd}
- {kind: ServiceAccount, name: argocd-server, namespace: argocd}
- {kind: ServiceAccount, name: cert-manager, namespace: cert-manager}
`

// argoServiceAccounts exist in argocd: a Pod names its service account,
// a TokenRequest needs it.
var argoServiceAccounts = []string{"argocd-application-controller", "argocd-applicationset-controller", "argocd-notifications-controller", "argocd-server", "argocd-repo-server"}

// installArgoCD installs the CRDs of test/e2e/testdata, the namespace,
// service accounts and bindings as Argo CD's install would (an exempt
// identity applies them); the objects and bindings go when the test ends.
func installArgoCD(t *testing.T) {
	t.Helper()
	crds := filepath.Join(harness.RepoRoot(), "test", "e2e", "testdata", "argocd-crds.yaml")
	mustRun(t, "apply", "-f", crds, "--as", exemptController)
	mustRun(t, "wait", "--for=condition=Established", "--timeout=60s", "-f", crds)
	if r := env.kubectl.Run(argoSetup, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	for _, sa := range argoServiceAccounts {
		if r := env.kubectl.Run("", "-n", "argocd", "get", "serviceaccount", sa); r.Failed() {
			mustRun(t, "-n", "argocd", "create", "serviceaccount", sa, "--as", exemptController)
		}
	}
	// The CRDs stay, as a namespace does: a CRD being deleted cannot be
	// installed again until its objects are gone.
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "argocd", "delete", "applications,applicationsets,appprojects", "--all", "--as", exemptController, "--wait=false")
		env.kubectl.Run("", "delete", "clusterrolebinding", "argocd-e2e", "--as", exemptController)
	})
}

// generatedApp is the Application an ApplicationSet with uid generates.
func generatedApp(name, uid string) string {
	return `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"` + name + `","namespace":"argocd",
"ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationSet","name":"shops","uid":"` + uid + `","controller":true,"blockOwnerDeletion":true}]},
"spec":{"project":"default","source":{"repoURL":"https://git.example.com/platform/fleet.git","targetRevision":"main","path":"shop/` + name + `"},
"destination":{"server":"https://kubernetes.default.svc","namespace":"shop"}}}`
}

// TestArgoCDIdentities drives the real kubectl as Argo CD's own service
// accounts against the API server and gitgate's shipped webhook
// configuration: the ApplicationSet controller creates, changes and
// deletes the Applications its ApplicationSet controls and nothing else;
// the notifications controller annotates them and changes nothing else;
// argocd-server starts a plain sync of any Application and is judged as a
// person everywhere else.
func TestArgoCDIdentities(t *testing.T) {
	applyShop(t)
	installArgoCD(t)
	appset := `{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationSet","metadata":{"name":"shops","namespace":"argocd"},"spec":{"generators":[]}}`
	if r := env.kubectl.Run(appset, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	uid := jsonpathIn(t, "argocd", "applicationset/shops", "{.metadata.uid}")
	t.Run("the ApplicationSet controller", func(t *testing.T) { appSetWrites(t, uid) })
	t.Run("the notifications controller", func(t *testing.T) { notificationsWrites(t) })
	t.Run("argocd-server", func(t *testing.T) { argoServerWrites(t) })
}

func appSetWrites(t *testing.T, uid string) {
	if r := env.kubectl.Run(generatedApp("eu", uid), "create", "-f", "-", "--as", appSetController); r.Failed() {
		t.Fatalf("the ApplicationSet controller creates its Application: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"spec":{"source":{"path":"shop/eu-2"}}}`, "--as", appSetController)
	mustRun(t, "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"operation":{"sync":{},"initiatedBy":{"username":"applicationset-controller","automated":true}}}`, "--as", appSetController)
	mustRun(t, "-n", "argocd", "patch", "application", "eu", "--type", "json", "-p", `[{"op":"remove","path":"/operation"}]`, "--as", appSetController)
	if r := env.kubectl.Run(generatedApp("us", uid), "create", "-f", "-", "--as", appSetController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "argocd", "delete", "application", "us", "--as", appSetController)

	orphan := `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"orphan","namespace":"argocd"},
"spec":{"project":"default","source":{"repoURL":"https://evil.example.com/x.git","targetRevision":"main","path":"."},"destination":{"server":"https://kubernetes.default.svc","namespace":"kube-system"}}}`
	for _, r := range []harness.Result{
		// An Application no ApplicationSet controls.
		env.kubectl.Run(orphan, "create", "-f", "-", "--as", appSetController),
		// Its Application freed of the ApplicationSet.
		env.kubectl.Run("", "-n", "argocd", "patch", "application", "eu", "--type", "json", "-p", `[{"op":"remove","path":"/metadata/ownerReferences"}]`, "--as", appSetController),
		// A sync of inline manifests, or of another revision.
		env.kubectl.Run("", "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"operation":{"sync":{"manifests":["kind: Pod"]}}}`, "--as", appSetController),
		env.kubectl.Run("", "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"operation":{"sync":{"revision":"evil"}}}`, "--as", appSetController),
		// A Pod as the Application controller.
		env.kubectl.Run(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"as-agent","namespace":"argocd"},"spec":{"serviceAccountName":"argocd-application-controller","containers":[{"name":"c","image":"busybox:1.36"}]}}`,
			"create", "-f", "-", "--as", appSetController),
	} {
		wantDenied(t, r, "[agent-token]", "neither the mode nor break-glass changes this")
	}
	// No power over workloads: a declared Deployment is a controller's to
	// leave as Git says.
	wantDenied(t, env.kubectl.Run("", "-n", "shop", "set", "image", "deployment/web", "app=evil:1", "--as", appSetController),
		"[field-mismatch]", "judged as a controller")
	// Its token is an agent's: a controller may not mint it.
	wantDenied(t, env.kubectl.Run("", "-n", "argocd", "create", "token", "argocd-applicationset-controller", "--as", certManager), "[agent-token]")
	if got := jsonpathIn(t, "argocd", "application/eu", "{.spec.source.path} {.metadata.ownerReferences[0].kind} {.operation}"); got != "shop/eu-2 ApplicationSet" {
		t.Errorf("Application eu: path, owner and operation %q", got)
	}
}

func notificationsWrites(t *testing.T) {
	mustRun(t, "-n", "argocd", "annotate", "application", "eu", `notified.notifications.argoproj.io={"on-sync-succeeded:slack":1}`, "--as", notifications)
	project := `{"apiVersion":"argoproj.io/v1alpha1","kind":"AppProject","metadata":{"name":"team-b","namespace":"argocd"},"spec":{"sourceRepos":["*"]}}`
	if r := env.kubectl.Run(project, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "-n", "argocd", "annotate", "appproject", "team-b", "notified.notifications.argoproj.io=1", "--as", notifications)
	for _, args := range [][]string{
		{"label", "application", "eu", "x=y"},
		{"patch", "application", "eu", "--type", "merge", "-p", `{"metadata":{"finalizers":["resources-finalizer.argocd.argoproj.io"]}}`},
		{"patch", "application", "eu", "--type", "merge", "-p", `{"spec":{"source":{"path":"evil"}}}`},
		{"patch", "application", "eu", "--type", "merge", "-p", `{"operation":{"sync":{}}}`},
		{"patch", "appproject", "team-b", "--type", "merge", "-p", `{"spec":{"sourceRepos":["https://evil.example.com/x.git"]}}`},
	} {
		wantDenied(t, env.kubectl.Run("", append(append([]string{"-n", "argocd"}, args...), "--as", notifications)...), "[agent-token]")
	}
	if got := jsonpathIn(t, "argocd", "application/eu", "{.metadata.labels.x}{.metadata.finalizers}{.spec.source.path}"); got != "shop/eu-2" {
		t.Errorf("Application eu after the notifications controller's refused writes: %q", got)
	}
}

func argoServerWrites(t *testing.T) {
	// The Sync button and the Refresh button.
	mustRun(t, "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"operation":{"sync":{"revision":"main","prune":true},"initiatedBy":{"username":"admin"}}}`, "--as", argoServer)
	mustRun(t, "-n", "argocd", "annotate", "application", "eu", "argocd.argoproj.io/refresh=hard", "--as", argoServer)
	// argocd app terminate-op: the Application's status, with the object.
	mustRun(t, "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", `{"status":{"operationState":{"phase":"Terminating"}}}`, "--as", argoServer)
	for _, patch := range []string{
		`{"operation":{"sync":{"manifests":["kind: Pod"]}}}`,
		`{"operation":{"sync":{"revision":"evil"}}}`,
		`{"operation":{"sync":{"revision":"0123456789abcdef0123456789abcdef01234567"}}}`, // argocd app rollback
		`{"operation":{"sync":{"source":{"repoURL":"https://evil.example.com/x.git"}}}}`,
		`{"spec":{"source":{"repoURL":"https://evil.example.com/x.git"}}}`,
		// The application controller resumes the operation in progress
		// in the status in place of operation.
		`{"operation":{"sync":{}},"status":{"operationState":{"phase":"Running","operation":{"sync":{"manifests":["kind: Pod"]}}}}}`,
	} {
		wantDenied(t, env.kubectl.Run("", "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p", patch, "--as", argoServer), "[agent-token]")
	}
	// Nor may a person or a controller write one there.
	for _, who := range []string{person, certManager} {
		wantDenied(t, env.kubectl.Run("", "-n", "argocd", "patch", "application", "eu", "--type", "merge", "-p",
			`{"status":{"operationState":{"phase":"Running","operation":{"sync":{"revision":"evil"}}}}}`, "--as", who), "[agent-token]")
	}
	// A person's edit of a workload (argocd app patch-resource), and a
	// Pod of its own (a resource action).
	wantDenied(t, env.kubectl.Run("", "-n", "shop", "set", "image", "deployment/web", "app=evil:1", "--as", argoServer),
		"[field-mismatch]", "judged as a person: it writes what people ask of it")
	wantDenied(t, env.kubectl.Run("", "-n", "shop", "run", "debug", "--image", "busybox:1.36", "--as", argoServer), "[controller-token]")
	// Its token stays a controller's: a person may not mint it.
	wantDenied(t, env.kubectl.Run("", "-n", "argocd", "create", "token", "argocd-server", "--as", person), "[controller-token]")
	if got := jsonpathIn(t, "argocd", "application/eu", "{.operation.sync.revision} {.spec.source.repoURL}"); got != "main https://git.example.com/platform/fleet.git" {
		t.Errorf("Application eu after argocd-server's writes: %q", got)
	}
}

// TestTokenSecretByName: a Pod that references a service account's token
// Secret by name holds that account's token, whatever it runs as. A
// controller's Pod in Argo CD's namespace may mount an ordinary Secret but
// not the Application controller's token; with --controller narrowed to an
// operator and the namespace in warn mode, a person's Pod may mount an
// ordinary Secret (warned) but not the operator's token (denied).
func TestTokenSecretByName(t *testing.T) {
	installArgoCD(t)
	ensureNamespace(t, "cert-manager")
	secrets := `apiVersion: v1
kind: Secret
metadata:
  name: app-controller-long-lived
  namespace: argocd
  annotations: {kubernetes.io/service-account.name: argocd-application-controller}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: {name: repo-creds, namespace: argocd}
stringData: {password: x}
`
	if r := env.kubectl.Run(secrets, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	pod := func(ns, name, sa, secret string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `","namespace":"` + ns + `"},"spec":{"serviceAccountName":"` + sa + `",
"containers":[{"name":"c","image":"busybox:1.36","env":[{"name":"T","valueFrom":{"secretKeyRef":{"name":"` + secret + `","key":"token","optional":true}}}]}],
"volumes":[{"name":"s","secret":{"secretName":"` + secret + `"}}]}}`
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "argocd", "delete", "pod", "mounts-repo-creds", "--as", exemptController, "--ignore-not-found", "--wait=false")
	})
	wantDenied(t, env.kubectl.Run(pod("argocd", "mounts-agent-token", "argocd-repo-server", "app-controller-long-lived"), "create", "-f", "-", "--as", certManager),
		"[agent-token]", "whose token Secret app-controller-long-lived its Pods reference by name")
	if r := env.kubectl.Run(pod("argocd", "mounts-repo-creds", "argocd-repo-server", "repo-creds"), "create", "-f", "-", "--as", certManager); r.Failed() {
		t.Errorf("a controller's Pod mounting an ordinary Secret: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}

	ensureNamespace(t, "ops")
	opsSetup := `apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: ops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: ops}
---
apiVersion: v1
kind: Secret
metadata:
  name: operator-token
  namespace: ops
  annotations: {kubernetes.io/service-account.name: operator}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: ops}
stringData: {password: x}
`
	if r := env.kubectl.Run(opsSetup, "apply", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "ops", "delete", "pod", "mounts-db", "--as", exemptController, "--ignore-not-found", "--wait=false")
	})
	env.stack.SwapGitgate(t, "--controller", "system:serviceaccount:ops:operator", "--mode", "warn")
	wantDenied(t, env.kubectl.Run(pod("ops", "mounts-operator-token", "web", "operator-token"), "create", "-f", "-", "--as", person),
		"[controller-token]", "service account ops/operator, whose token Secret operator-token its Pods reference by name")
	r := env.kubectl.Run(pod("ops", "mounts-db", "web", "db"), "create", "-f", "-", "--as", person)
	if r.Failed() || !strings.Contains(r.Stderr, "gitgate would deny (warn mode)") {
		t.Errorf("a person's Pod mounting an ordinary Secret in warn mode: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}
