package flux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: shop\ndata:\n  greeting: \"" + value + "\"\n"
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fleet", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitApplied waits until Flux applied sha; gitgate follows the same
// branch every second, so it enforces sha by then too.
func waitApplied(t *testing.T, sha string) {
	t.Helper()
	if err := env.flux.WaitApplied(sync, sha, applyTimeout); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, obj, jsonpath string) string {
	t.Helper()
	r := env.kubectl.Run("", "-n", "shop", "get", obj, "-o", "jsonpath="+jsonpath)
	if r.Failed() && !strings.Contains(r.Stderr, "NotFound") {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}

func expectValue(t *testing.T, obj, want string) {
	t.Helper()
	if got := get(t, obj, "{.data.greeting}"); got != want {
		t.Errorf("%s greeting = %q, want %q", obj, got, want)
	}
}

// expectDenied checks that gitgate, not the API server, refused r, with a
// message holding wants.
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

// requestReconcile does what `flux reconcile kustomization flux-system
// --with-source` does, as a person: annotate both objects.
func requestReconcile(t *testing.T) {
	t.Helper()
	now := "reconcile.fluxcd.io/requestedAt=" + time.Now().Format(time.RFC3339Nano)
	for _, kind := range []string{"gitrepository", "kustomization"} {
		r := env.kubectl.Run("", "-n", harness.FluxNamespace, "annotate", "--overwrite", kind, sync, now, "--as", person)
		if r.Failed() {
			t.Fatalf("a person requests a reconcile: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	}
}

// grant gives user a break-glass grant with the real CLI.
func grant(t *testing.T, name, user string) {
	t.Helper()
	if _, err := harness.BreakGlass(env.kubectl.Kubeconfig, "grant", name, "--user", user, "--for", "10m", "--reason", "test "+name); err != nil {
		t.Fatal(err)
	}
}

func revoke(t *testing.T, name string) {
	t.Helper()
	if _, err := harness.BreakGlass(env.kubectl.Kubeconfig, "revoke", name); err != nil {
		t.Error(err)
	}
}
