package fluxsource

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// applyTimeout bounds how long Flux and gitgate may take to load a commit;
// it is a liveness bound, not a performance target.
const applyTimeout = 2 * time.Minute

// webConfig is the ConfigMap as the apps Kustomization applies it:
// substituted, in its targetNamespace, with Flux's owner labels.
func webConfig(greeting string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels:
    kustomize.toolkit.fluxcd.io/name: apps
    kustomize.toolkit.fluxcd.io/namespace: flux-system
data:
  greeting: ` + greeting + "\n"
}

func get(t *testing.T, obj, jsonpath string) string {
	t.Helper()
	r := env.kubectl.Run("", "-n", "shop", "get", obj, "-o", "jsonpath="+jsonpath)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}

func expectDenied(t *testing.T, r harness.Result, wants ...string) {
	t.Helper()
	if !r.Failed() {
		t.Fatalf("%s: want denied, got allowed:\n%s", r.CommandLine(), r.Stdout)
	}
	if !strings.Contains(r.Stderr, `admission webhook "validate.gitgate.dev" denied the request`) {
		t.Fatalf("%s: not denied by gitgate: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("%s: denial lacks %q:\n%s", r.CommandLine(), w, r.Stderr)
		}
	}
}

func expectAllowed(t *testing.T, r harness.Result) {
	t.Helper()
	if r.Failed() {
		t.Fatalf("%s: want allowed: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// TestFluxAppliesAndIdenticalApplyIsAllowed: what Flux applied (after
// substitution, targetNamespace, the images override and the patch) is
// what gitgate declares: a commit is applied by Flux with no denial, and
// a person's apply of the identical object is allowed.
func TestFluxAppliesAndIdenticalApplyIsAllowed(t *testing.T) {
	sha, err := env.git.Commit(harness.Change{Write: map[string]string{"infra/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\ndata: {v: \"1\"}\n"}, Message: "add extra"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.flux.WaitApplied(infra, sha, applyTimeout); err != nil {
		t.Fatal(err)
	}
	for obj, want := range map[string][2]string{
		"configmap/web-config": {"{.data.greeting}", "hello"},
		"deployment/web":       {"{.spec.template.spec.containers[0].image}/{.spec.replicas}", "nginx:1.27/2"},
		"configmap/extra":      {"{.data.v}", "1"},
	} {
		if got := get(t, obj, want[0]); got != want[1] {
			t.Errorf("%s: %s = %q, want %q", obj, want[0], got, want[1])
		}
	}
	expectAllowed(t, env.kubectl.Run(webConfig("hello"), "apply", "-f", "-", "--as", person))
	if strings.Contains(env.gitgate.Logs(), "system:serviceaccount:flux-system:") && strings.Contains(env.gitgate.Logs(), `"decision":"denied"`) {
		t.Error("gitgate denied a write of Flux")
	}
}

// TestPersonChangeIsDenied: a person's change of what Flux applies is
// denied, and the denial names the Kustomization and its revision; the
// images override and the patch are enforced, not the plain manifest.
func TestPersonChangeIsDenied(t *testing.T) {
	expectDenied(t, env.kubectl.Run(webConfig("bye"), "apply", "-f", "-", "--as", person),
		"Kustomization flux-system/apps", "main@sha1:", "apps (kustomize)")
	expectDenied(t, env.kubectl.Run("", "-n", "shop", "set", "image", "deployment/web", "web=nginx:1.0", "--as", person),
		"Kustomization flux-system/apps")
	expectDenied(t, env.kubectl.Run("", "-n", "shop", "scale", "deployment/web", "--replicas", "1", "--as", person),
		"Kustomization flux-system/apps")
}

// TestSOPSSecretIsAgentOnly: a Secret of a Kustomization with decryption
// is the agent's alone: a person may not change or delete it, and the
// denial shows no value.
func TestSOPSSecretIsAgentOnly(t *testing.T) {
	if got := get(t, "secret/db", "{.metadata.name}"); got != "db" {
		t.Fatalf("Flux did not apply the Secret: %q", got)
	}
	r := env.kubectl.Run("", "-n", "shop", "patch", "secret", "db", "--type", "merge", "-p", `{"stringData":{"password":"mine"}}`, "--as", person)
	expectDenied(t, r, "encrypted values", "Kustomization flux-system/apps")
	if strings.Contains(r.Stderr, "mine") || strings.Contains(r.Stderr, "ENC-placeholder") {
		t.Errorf("the denial shows a value: %s", r.Stderr)
	}
	expectDenied(t, env.kubectl.Run("", "-n", "shop", "delete", "secret", "db", "--as", person), "only the GitOps agent")
	expectDenied(t, env.kubectl.Run("", "-n", "shop", "label", "secret", "db", "x=y", "--as", person), "encrypted values")
}

// TestRenderFailureLeavesOthersMovingOn: a commit that breaks infra and
// changes apps: apps enforces the new revision while infra stays at its
// last good one, and the failure is logged and counted with infra's name.
func TestRenderFailureLeavesOthersMovingOn(t *testing.T) {
	before := get(t, "configmap/infra-settings", "{.data.level}")
	sha, err := env.git.Commit(harness.Change{Write: map[string]string{
		"infra/kustomization.yaml": "resources: [namespace.yaml, missing.yaml]\n",
		"apps/app.yaml":            strings.Replace(readFixture(t, "apps/app.yaml"), `greeting: "${greeting}"`, `greeting: "${greeting}-v2"`, 1),
	}, Message: "break infra, change apps"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		fix, err := env.git.Commit(harness.Change{Delete: []string{"infra/kustomization.yaml"}, Message: "fix infra"})
		if err == nil {
			err = env.flux.WaitApplied(infra, fix, applyTimeout)
		}
		if err != nil {
			t.Error(err)
		}
	}()
	if err := env.flux.WaitApplied(apps, sha, applyTimeout); err != nil {
		t.Fatal(err)
	}
	// gitgate loads the commit on its own; wait until it allows the new
	// value (denied while it enforces the old one).
	deadline := time.Now().Add(applyTimeout)
	for r := env.kubectl.Run(webConfig("hello-v2"), "apply", "-f", "-", "--as", person); r.Failed(); r = env.kubectl.Run(webConfig("hello-v2"), "apply", "-f", "-", "--as", person) {
		if time.Now().After(deadline) {
			t.Fatalf("gitgate never enforced apps at %s: %s", sha, r.Stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := env.kubectl.Run("", "-n", "shop", "patch", "configmap", "infra-settings", "--type", "merge", "-p", `{"data":{"level":"9"}}`, "--as", person)
	expectDenied(t, r, "Kustomization flux-system/infra")
	if strings.Contains(r.Stderr, sha) {
		t.Errorf("infra is judged at the broken revision: %s", r.Stderr)
	}
	if got := get(t, "configmap/infra-settings", "{.data.level}"); got != before {
		t.Errorf("infra-settings changed: %q", got)
	}
	logs := env.gitgate.Logs()
	if !strings.Contains(logs, "root failed") || !strings.Contains(logs, `"root":"Kustomization flux-system/infra"`) {
		t.Error("no log line names the failed root")
	}
	m, err := env.gitgate.Metrics()
	if err != nil || !strings.Contains(m, `gitgate_root_sync_failures_total{root="Kustomization flux-system/infra"`) {
		t.Errorf("no failure counted for infra (metrics error %v)", err)
	}
}
