package flux

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// applyTimeout bounds how long Flux may take to apply a commit (its
// interval is 2 s); it is a liveness bound, not a performance target.
const applyTimeout = 2 * time.Minute

// TestFluxWritesAreNeverJudged: Flux applies every revision, itself
// included, with no denial of its own writes; the shipped matchConditions
// keep them away from gitgate altogether.
func TestFluxWritesAreNeverJudged(t *testing.T) {
	sha := env.git.MustCommit(t, harness.Change{Write: map[string]string{"extra.yaml": configMap("extra", "1")}, Message: "add extra"})
	waitApplied(t, sha)
	expectValue(t, "configmap/extra", "1")
	for _, line := range strings.Split(env.gitgate.Logs(), "\n") {
		if strings.Contains(line, `"logger":"audit"`) && strings.Contains(line, "system:serviceaccount:flux-system:") {
			t.Errorf("gitgate recorded a write of Flux: %s", line)
		}
	}
	m, err := env.gitgate.Metrics()
	if err != nil || strings.Contains(m, `class="agent"`) {
		t.Errorf("gitgate was called for an agent's request (metrics error %v)", err)
	}
	// The measure of the matchConditions: the API server's status writes
	// (Flux reports on every reconcile) against the requests gitgate saw.
	r := env.kubectl.Run("", "get", "--raw", "/metrics")
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	statusWrites := sumMetric(r.Stdout, "apiserver_request_total{", `subresource="status"`, `verb="PATCH"`) + sumMetric(r.Stdout, "apiserver_request_total{", `subresource="status"`, `verb="PUT"`)
	judged := sumMetric(m, "gitgate_admission_decisions_total{")
	t.Logf("status writes through the API server: %.0f; requests gitgate saw in all: %.0f", statusWrites, judged)
	if statusWrites == 0 {
		t.Error("no status writes counted: the measurement saw nothing")
	}
}

// sumMetric adds the values of the samples of a Prometheus text exposition
// whose line starts with prefix and holds every one of labels.
func sumMetric(text, prefix string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		var v float64
		if i := strings.LastIndex(line, " "); ok && i > 0 {
			if _, err := fmt.Sscanf(line[i+1:], "%g", &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// TestPersonEditIsDenied: kubectl edit of an object Flux applied, as a
// person types it.
func TestPersonEditIsDenied(t *testing.T) {
	edit := *env.kubectl
	edit.Env = []string{"KUBE_EDITOR=sed -i s/greeting:.*/greeting:\\ hi/"}
	r := edit.Run("", "-n", "shop", "edit", "configmap", "settings", "--as", person)
	expectDenied(t, r, "file settings.yaml", `data.greeting: Git has "hello", request has "hi"`)
	expectValue(t, "configmap/settings", "hello")
}

// TestCommitIsApplied: a change goes through Git, and Flux applies it.
func TestCommitIsApplied(t *testing.T) {
	sha := env.git.MustCommit(t, harness.Change{Write: map[string]string{"settings.yaml": strings.Replace(readFixture(t, "settings.yaml"), "hello", "hello again", 1)}, Message: "greeting"})
	waitApplied(t, sha)
	expectValue(t, "configmap/settings", "hello again")
	sha = env.git.MustCommit(t, harness.Change{Write: map[string]string{"settings.yaml": readFixture(t, "settings.yaml")}, Message: "greeting back"})
	waitApplied(t, sha)
	expectValue(t, "configmap/settings", "hello")
}

// TestPruneFinishesDespiteFinalizers: an operator holds a declared object
// with a finalizer; when the file leaves Git, Flux deletes the object, and
// removing the finalizer (by anyone) finishes the deletion.
func TestPruneFinishesDespiteFinalizers(t *testing.T) {
	waitApplied(t, env.git.MustCommit(t, harness.Change{Write: map[string]string{"doomed.yaml": configMap("doomed", "1")}, Message: "add doomed"}))
	// Under its own field manager, as an operator's client writes: Flux
	// takes over the fields of managers named kubectl* and would strip the
	// finalizer on its next apply, and then the prune would not wait.
	if r := env.operator.Run("", "-n", "shop", "patch", "configmap", "doomed", "--type", "merge", "--field-manager", "example-operator",
		"-p", `{"metadata":{"finalizers":["example.com/hold"]}}`); r.Failed() {
		t.Fatalf("operator adds a finalizer: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	waitApplied(t, env.git.MustCommit(t, harness.Change{Delete: []string{"doomed.yaml"}, Message: "remove doomed"}))
	// kustomize-controller prunes in the reconcile that applies sha; on a
	// loaded machine its status can say so a moment before the deletion
	// shows.
	for deadline := time.Now().Add(applyTimeout); ; time.Sleep(250 * time.Millisecond) {
		r := env.kubectl.Run("", "-n", "shop", "get", "configmap", "doomed", "-o", "jsonpath={.metadata.deletionTimestamp}")
		if r.Failed() && strings.Contains(r.Stderr, "NotFound") {
			t.Fatal("configmap/doomed went at once: its finalizer was gone before Flux pruned it")
		}
		if r.Failed() {
			t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
		if r.Stdout != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Flux did not prune configmap/doomed")
		}
	}
	if r := env.kubectl.Run("", "-n", "shop", "patch", "configmap", "doomed", "--type", "json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`, "--as", person); r.Failed() {
		t.Fatalf("removing the finalizer of a terminating object: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if r := env.kubectl.Run("", "-n", "shop", "get", "configmap", "doomed"); !r.Failed() || !strings.Contains(r.Stderr, "NotFound") {
		t.Errorf("configmap/doomed still exists: %s%s", r.Stdout, r.Stderr)
	}
}

// TestBreakGlassHotfixIsReverted: a person with a grant changes a declared
// value; Flux's drift correction puts Git's value back.
func TestBreakGlassHotfixIsReverted(t *testing.T) {
	grant(t, "inc-7", person)
	defer revoke(t, "inc-7")
	r := env.kubectl.Run("", "-n", "shop", "patch", "configmap", "settings", "--type", "merge", "-p", `{"data":{"greeting":"hotfix"}}`, "--as", person)
	if r.Failed() || !strings.Contains(r.Stderr, "break-glass grant inc-7") {
		t.Fatalf("hotfix under a grant: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	expectValue(t, "configmap/settings", "hotfix")
	requestReconcile(t)
	for deadline := time.Now().Add(applyTimeout); get(t, "configmap/settings", "{.data.greeting}") != "hello"; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Flux did not revert the hotfix")
		}
	}
}

// TestPersonRequestsAReconcile: `flux reconcile` writes an annotation on
// the Kustomization Git declares; a person may.
func TestPersonRequestsAReconcile(t *testing.T) {
	requestReconcile(t)
}

// TestOperatorIsAController: a stand-in operator, with its own service
// account token, may create what Git does not declare and annotate what it
// does, but not change a declared value.
func TestOperatorIsAController(t *testing.T) {
	r := env.operator.Run("", "-n", "shop", "create", "secret", "generic", "web-tls", "--from-literal", "tls.crt=x")
	if r.Failed() {
		t.Errorf("operator creates a Secret in the managed namespace: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	defer env.operator.Run("", "-n", "shop", "delete", "secret", "web-tls", "--ignore-not-found")
	r = env.operator.Run("", "-n", "shop", "annotate", "service", "web", "--overwrite", "cert-manager.io/issued-by=ops")
	if r.Failed() {
		t.Errorf("operator annotates a declared Service: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	r = env.operator.Run("", "-n", "shop", "set", "image", "deployment/web", "app=nginx:evil")
	expectDenied(t, r, "judged as a controller", `Git has "nginx:1.27", request has "nginx:evil"`)
	if img := get(t, "deployment/web", "{.spec.template.spec.containers[0].image}"); img != "nginx:1.27" {
		t.Errorf("image = %q after a denied change", img)
	}
}

// TestOperatorMayNotSteerFlux: a Kustomization or a source tells the real
// kustomize-controller what to apply, as itself. An operator (any service
// account's token) may neither create one Git does not declare nor change
// the spec of Flux's own; a person's reconcile request stays allowed.
func TestOperatorMayNotSteerFlux(t *testing.T) {
	const repo = `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"name":"elsewhere","namespace":"ops"},"spec":{"interval":"1m","url":"https://git.example.com/elsewhere.git","ref":{"branch":"main"}}}`
	r := env.operator.Run(repo, "create", "-f", "-")
	if !r.Failed() || !strings.Contains(r.Stderr, "Git does not declare this GitOps object") {
		t.Errorf("operator creates a GitRepository: want denied by gitgate, got %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	r = env.operator.Run("", "-n", harness.FluxNamespace, "patch", "kustomization", sync, "--type", "merge", "-p", `{"spec":{"suspend":true}}`)
	if !r.Failed() || !strings.Contains(r.Stderr, `denied the request`) {
		t.Errorf("operator suspends Flux's Kustomization: want denied by gitgate, got %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	if r := env.kubectl.Run("", "-n", harness.FluxNamespace, "get", "kustomization", sync, "-o", "jsonpath={.spec.suspend}"); r.Failed() || r.Stdout == "true" {
		t.Errorf("Kustomization %s after a denied suspend: suspend=%q %v %s", sync, r.Stdout, r.Err, r.Stderr)
	}
	requestReconcile(t)
}
