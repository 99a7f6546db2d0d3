package argocd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// personEditRefusal is what gitgate's refusal of a person's edit of an
// object Application app synced holds: the Application whose render
// declares it, the file, and the field that differs.
func personEditRefusal(app, file string) []string {
	return []string{"Application " + harness.ArgoCDNamespace + "/" + app, "file " + file, "data.greeting: Git has"}
}

// TestArgoCDSyncsThroughGitgate: the real application controller synced a
// plain directory and a kustomize root (setup waited for Synced and
// Healthy at the commit), as its own service account, which the shipped
// matchConditions keep away from gitgate altogether; and what it applied
// is what gitgate rendered, tracking annotation included.
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
	// gitgate rendered each Application as a root of its own.
	for _, app := range []string{rootApp.Name, plainApp.Name, kustApp.Name} {
		if want := "Application " + harness.ArgoCDNamespace + "/" + app; !strings.Contains(env.gitgate.Logs(), want) {
			t.Errorf("gitgate's logs never name the root %s", want)
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
	// Setup's syncs, by the application controller alone, never reached
	// gitgate (later tests add agents of their own: a root's, the
	// ApplicationSet controller).
	if strings.Contains(env.setupMetrics, `class="agent"`) {
		t.Errorf("gitgate was called for an agent's request while the Applications synced")
	}
}

// TestPersonEditOfSyncedObjectIsRefused: kubectl edit, as a person types
// it, of objects the application controller synced.
func TestPersonEditOfSyncedObjectIsRefused(t *testing.T) {
	for _, c := range []struct {
		app       harness.ArgoCDApplication
		obj, file string
	}{
		{plainApp, "settings", "apps/plain/settings.yaml"},
		{kustApp, "kz-settings", "apps/kustomized"},
	} {
		t.Run(c.app.Name, func(t *testing.T) {
			edit := *env.kubectl
			// kubectl keeps a refused edit in a file of its TMPDIR.
			edit.Env = []string{"KUBE_EDITOR=sed -i s/greeting:.*/greeting:\\ hi/", "TMPDIR=" + t.TempDir()}
			r := edit.Run("", "-n", c.app.Namespace, "edit", "configmap", c.obj, "--as", person)
			harness.WantDenied(t, r, personEditRefusal(c.app.Name, c.file)...)
			t.Logf("kubectl edit as %s: %s", person, strings.TrimSpace(r.Stderr))
			if got := get(t, c.app.Namespace, "configmap/"+c.obj, "{.data.greeting}"); got == "hi" {
				t.Errorf("%s/%s greeting = %q after a refused edit", c.app.Namespace, c.obj, got)
			}
		})
	}
}

// TestApplicationSetGeneratesApplications: Git declares an ApplicationSet
// in the root Application's folder, Argo CD syncs it, and the
// ApplicationSet controller creates the Applications its list generator
// yields, as its own service account.
func TestApplicationSetGeneratesApplications(t *testing.T) {
	head := env.git.MustCommit(t, harness.Change{Message: "declare the ApplicationSet", Write: map[string]string{
		argoFolder + "/applicationset.yaml": applicationSetYAML(env.git.HTTPURL()),
	}})
	if err := env.argocd.Refresh(rootApp.Name); err != nil {
		t.Fatal(err)
	}
	// The ApplicationSet controller is an agent for the Applications an
	// ApplicationSet controls (--agent-for's default): its creates pass,
	// and the real application controller syncs them.
	for _, name := range generated {
		if err := env.argocd.WaitSynced("gen-"+name, head, syncTimeout); err != nil {
			t.Error(err)
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

// get reads jsonpath of obj in namespace ns; empty if it does not exist.
func get(t *testing.T, ns, obj, jsonpath string) string {
	t.Helper()
	r := env.kubectl.Run("", "-n", ns, "get", obj, "-o", "jsonpath="+jsonpath)
	if r.Failed() && !strings.Contains(r.Stderr, "NotFound") {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}
