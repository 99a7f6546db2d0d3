package gitsync

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/sources/receiver"
	"github.com/gitgate/gitgate/test/harness"
)

// pushAndWait commits change, notifies gitgate and waits until a root
// enforces the commit.
func pushAndWait(t *testing.T, change harness.Change) string {
	t.Helper()
	hash, err := env.git.Commit(change)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{}`)
	if code := notify(t, body, http.Header{receiver.HeaderSignature: {receiver.Sign(body, []byte(secret))}}); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitRevision(t, hash)
	return hash
}

// movedCM is ConfigMap prod/prod-moved; in overlays/prod it is written as
// "moved", which the overlay's namePrefix and namespace make the same
// object.
const movedCM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-moved\n  namespace: prod\ndata:\n  color: blue\n"

// TestObjectMovedToBrokenRootStaysEnforced: a commit moves ConfigMap
// prod-moved from root namespaces to root overlays/prod and breaks
// overlays/prod (a resource that does not exist). The object stays
// declared by namespaces at the revision before, so a person's edit and
// delete are denied, naming that revision and file, and gitgate stays
// ready.
func TestObjectMovedToBrokenRootStaysEnforced(t *testing.T) {
	enforceFixture(t, "blue")
	declared := pushAndWait(t, harness.Change{Write: map[string]string{"namespaces/moved.yaml": movedCM}})
	if r := env.kubectl.Run(movedCM, "apply", "--as", agent, "-f", "-"); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	defer env.kubectl.Run("", "delete", "configmap", "prod-moved", "-n", "prod", "--as", agent, "--ignore-not-found")
	// typo.yaml does not exist: overlays/prod fails to render.
	overlay := strings.Replace(fixture["overlays/prod/kustomization.yaml"], "- flags.yaml\n", "- flags.yaml\n- moved.yaml\n- typo.yaml\n", 1)
	pushAndWait(t, harness.Change{
		Delete: []string{"namespaces/moved.yaml"},
		Write: map[string]string{
			"overlays/prod/moved.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: moved\ndata:\n  color: blue\n",
			"overlays/prod/kustomization.yaml": overlay,
		},
	})
	wantDenied(t, env.kubectl.Run("", "label", "configmap", "prod-moved", "-n", "prod", "team=web", "--as", person),
		"path namespaces at main@sha1:"+declared+", file namespaces/moved.yaml")
	wantDenied(t, env.kubectl.Run("", "delete", "configmap", "prod-moved", "-n", "prod", "--as", person), "path namespaces")
	if err := env.gitgate.WaitReady(5 * time.Second); err != nil {
		t.Errorf("gitgate is not ready: %v", err)
	}
}

// TestConflictMustAgreeWithEveryRoot: root namespaces (first by name)
// also declares prod/prod-flags, red where overlays/prod says blue. A
// person's apply of either color is denied, naming the root that
// disagrees: which root owns the object opens nothing.
func TestConflictMustAgreeWithEveryRoot(t *testing.T) {
	enforceFixture(t, "blue")
	hash := pushAndWait(t, harness.Change{Write: map[string]string{
		"namespaces/flags.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-flags\n  namespace: prod\ndata:\n  color: red\n",
	}})
	wantDenied(t, applyFlags("red"), `Git has "blue", request has "red"`, "path overlays/prod at main@sha1:"+hash)
	wantDenied(t, applyFlags("blue"), `Git has "red", request has "blue"`, "path namespaces at main@sha1:"+hash+", file namespaces/flags.yaml")
	if logs := env.gitgate.Logs(); !strings.Contains(logs, "object declared by more than one root") {
		t.Error("the conflict is not logged")
	}
}
