package argocd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// personEditRefusal is what gitgate's refusal of a person's edit of an
// object Application app synced holds. Today gitgate reads only the
// argocd folder, so Git declares none of those objects. Once --source
// argocd renders the Applications (issue 24), Git declares them through
// app: return "Application argocd/"+app and the field that differs
// instead.
func personEditRefusal(app string) []string {
	_ = app
	return []string{"Git does not declare this object"}
}

// appSetControllerIsAgent says whether gitgate lets the ApplicationSet
// controller create the Applications it generates. Not yet: a controller
// may not create a GitOps object Git does not declare (branch argoids
// makes it an agent for Applications). Set it to true when it lands.
const appSetControllerIsAgent = false

// TestArgoCDSyncsThroughGitgate: the real application controller synced a
// plain directory and a kustomize root (setup waited for Synced and
// Healthy at the commit), as its own service account, which the shipped
// matchConditions keep away from gitgate altogether. Had it acted as
// anyone else, gitgate would have refused its creates: the argocd folder,
// all gitgate reads, declares none of those objects.
func TestArgoCDSyncsThroughGitgate(t *testing.T) {
	for _, c := range []struct{ ns, obj, jsonpath, want string }{
		{plainApp.Namespace, "configmap/settings", "{.data.greeting}", "hello"},
		{plainApp.Namespace, "service/web", "{.spec.ports[0].port}", "80"},
		{kustApp.Namespace, "configmap/kz-settings", "{.metadata.labels.team}", "shop"},
	} {
		if got := get(t, c.ns, c.obj, c.jsonpath); got != c.want {
			t.Errorf("%s/%s %s = %q, want %q", c.ns, c.obj, c.jsonpath, got, c.want)
		}
		// Argo CD's tracking annotation: the application controller
		// applied it, not setup.
		if got := get(t, c.ns, c.obj, `{.metadata.annotations.argocd\.argoproj\.io/tracking-id}`); got == "" {
			t.Errorf("%s/%s carries no argocd.argoproj.io/tracking-id", c.ns, c.obj)
		}
	}
	// kustomize's configMapGenerator ran in the repo server.
	if got := get(t, kustApp.Namespace, "configmaps", "{.items[*].metadata.name}"); !strings.Contains(got, "kz-generated-") {
		t.Errorf("configmaps in %s = %q, want kz-generated-<hash>", kustApp.Namespace, got)
	}
	for _, line := range strings.Split(env.gitgate.Logs(), "\n") {
		if strings.Contains(line, `"logger":"audit"`) && strings.Contains(line, harness.ArgoCDAgent) {
			t.Errorf("gitgate recorded a write of Argo CD's application controller: %s", line)
		}
	}
	m, err := env.gitgate.Metrics()
	if err != nil || strings.Contains(m, `class="agent"`) {
		t.Errorf("gitgate was called for an agent's request (metrics error %v)", err)
	}
}

// TestPersonEditOfSyncedObjectIsRefused: kubectl edit, as a person types
// it, of objects the application controller synced.
func TestPersonEditOfSyncedObjectIsRefused(t *testing.T) {
	for _, c := range []struct {
		app harness.ArgoCDApplication
		obj string
	}{
		{plainApp, "settings"},
		{kustApp, "kz-settings"},
	} {
		t.Run(c.app.Name, func(t *testing.T) {
			edit := *env.kubectl
			// kubectl keeps a refused edit in a file of its TMPDIR.
			edit.Env = []string{"KUBE_EDITOR=sed -i s/greeting:.*/greeting:\\ hi/", "TMPDIR=" + t.TempDir()}
			r := edit.Run("", "-n", c.app.Namespace, "edit", "configmap", c.obj, "--as", person)
			harness.WantDenied(t, r, personEditRefusal(c.app.Name)...)
			if got := get(t, c.app.Namespace, "configmap/"+c.obj, "{.data.greeting}"); got == "hi" {
				t.Errorf("%s/%s greeting = %q after a refused edit", c.app.Namespace, c.obj, got)
			}
		})
	}
}

// TestApplicationSetGeneratesApplications: a person creates the
// ApplicationSet Git declares (allowed), and the ApplicationSet controller
// creates the Applications its list generator yields, as its own service
// account.
func TestApplicationSetGeneratesApplications(t *testing.T) {
	r := env.kubectl.Run(applicationSetYAML(env.git.HTTPURL()), "apply", "-f", "-")
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if appSetControllerIsAgent {
		for _, name := range generated {
			if err := env.argocd.WaitSynced("gen-"+name, env.head, syncTimeout); err != nil {
				t.Error(err)
			}
		}
		return
	}
	// Today gitgate refuses the creates, and the controller reports the
	// refusal on the ApplicationSet.
	msg := waitAppSetError(t, "generated", "validate.gitgate.dev", 2*time.Minute)
	t.Logf("ApplicationSet generated reports: %s", msg)
	for _, want := range []string{
		`admission webhook "validate.gitgate.dev" denied the request`,
		"CREATE of argoproj.io/Application argocd/gen-", "by " + harness.ArgoCDApplicationSetController,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("ApplicationSet error lacks %q:\n%s", want, msg)
		}
	}
	for _, name := range generated {
		if got := get(t, harness.ArgoCDNamespace, "applications.argoproj.io/gen-"+name, "{.metadata.name}"); got != "" {
			t.Errorf("Application gen-%s exists, want it refused", name)
		}
	}
}

// generated are the list generator's elements: Applications gen-<name>.
var generated = []string{"one", "two"}

// applicationSetYAML is an ApplicationSet whose list generator yields an
// Application gen-<name> for each of generated, syncing apps/generated
// into namespace gen-<name>.
func applicationSetYAML(repoURL string) string {
	var elems strings.Builder
	for _, n := range generated {
		fmt.Fprintf(&elems, "      - name: %s\n", n)
	}
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: generated
  namespace: %s
spec:
  generators:
  - list:
      elements:
%s  template:
    metadata:
      name: 'gen-{{name}}'
    spec:
      project: default
      source:
        repoURL: %q
        targetRevision: main
        path: apps/generated
      destination:
        name: %q
        namespace: 'gen-{{name}}'
      syncPolicy:
        automated:
          prune: true
        syncOptions:
        - CreateNamespace=true
`, harness.ArgoCDNamespace, elems.String(), repoURL, harness.ArgoCDCluster)
}

// waitAppSetError waits until the ApplicationSet named name reports an
// ErrorOccurred condition whose message holds want, and returns the
// message: an earlier error of another cause may come first.
func waitAppSetError(t *testing.T, name, want string, timeout time.Duration) string {
	t.Helper()
	const path = `{.status.conditions[?(@.type=="ErrorOccurred")].status}{"\n"}{.status.conditions[?(@.type=="ErrorOccurred")].message}`
	deadline := time.Now().Add(timeout)
	for {
		status, msg, _ := strings.Cut(get(t, harness.ArgoCDNamespace, "applicationsets.argoproj.io/"+name, path), "\n")
		if status == "True" && strings.Contains(msg, want) {
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("ApplicationSet %s reports no error holding %q after %s; status:\n%s", name, want, timeout,
				get(t, harness.ArgoCDNamespace, "applicationsets.argoproj.io/"+name, "{.status}"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// get reads jsonpath of obj in namespace ns; empty if it does not exist.
func get(t *testing.T, ns, obj, jsonpath string) string {
	t.Helper()
	r := env.kubectl.Run("", "-n", ns, "get", obj, "-o", "jsonpath="+jsonpath)
	if r.Failed() && !strings.Contains(r.Stderr, "NotFound") {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}
