package bothagents

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// declared is an object one agent applies, and the root gitgate names
// for it.
type declared struct {
	ns, name, root string
}

var (
	fluxSettings = declared{fluxNS, "flux-settings", fluxRoot}
	argoSettings = declared{argoNS, "argo-settings", argoRoot}
)

// manifest is the ConfigMap d as its agent applies it, greeting
// substituted: Flux's owner labels on Flux's, Argo CD's tracking
// annotation (read from the live object: Argo CD wrote it) on Argo CD's.
func (d declared) manifest(t *testing.T, greeting string) string {
	t.Helper()
	marks := "  labels:\n    kustomize.toolkit.fluxcd.io/name: " + fluxApps + "\n    kustomize.toolkit.fluxcd.io/namespace: " + harness.FluxNamespace + "\n"
	if d.root == argoRoot {
		id := get(t, d.ns, "configmap/"+d.name, `{.metadata.annotations.argocd\.argoproj\.io/tracking-id}`)
		if id == "" {
			t.Fatalf("%s/%s carries no Argo CD tracking annotation", d.ns, d.name)
		}
		marks = "  annotations:\n    argocd.argoproj.io/tracking-id: " + id + "\n"
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + d.name + "\n  namespace: " + d.ns + "\n" + marks +
		"data:\n  greeting: " + greeting + "\n"
}

// greeting is d's live data.greeting.
func (d declared) greeting(t *testing.T) string {
	t.Helper()
	return get(t, d.ns, "configmap/"+d.name, "{.data.greeting}")
}

// patch sets d's greeting with a merge patch, as user (--as), or as the
// cluster admin when user is empty.
func (d declared) patch(greeting, user string) harness.Result {
	args := []string{"-n", d.ns, "patch", "configmap", d.name, "--type", "merge", "-p", `{"data":{"greeting":"` + greeting + `"}}`}
	if user != "" {
		args = append(args, "--as", user)
	}
	return env.kubectl.Run("", args...)
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

// waitBothApplied waits until Flux applied sha and Argo CD synced it.
func waitBothApplied(t *testing.T, sha string) {
	t.Helper()
	if err := env.argocd.Refresh(argoApp.Name); err != nil {
		t.Fatal(err)
	}
	if err := env.flux.WaitApplied(fluxApps, sha, syncTimeout); err != nil {
		t.Fatal(err)
	}
	if err := env.argocd.WaitSynced(argoApp.Name, sha, syncTimeout); err != nil {
		t.Fatal(err)
	}
}

// eventually retries try until it reports true, failing t after
// syncTimeout with what the last try said.
func eventually(t *testing.T, what string, try func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		ok, last := try()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s; last: %s", what, syncTimeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func wantAllowed(t *testing.T, r harness.Result) {
	t.Helper()
	if r.Failed() {
		t.Errorf("%s: want allowed: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}
