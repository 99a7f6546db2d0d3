package cli

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// With --dry-run-action warn, kubectl diff and a server dry run show what
// gitgate would refuse, while the real request is still denied.
func TestServerDryRunIsWarned(t *testing.T) {
	applyShop(t)
	dir := t.TempDir()
	obj := live(t, "configmap", "web-config", "-n", "shop")
	set(obj, "data.greeting", "hi")
	f := writeYAML(t, dir, "changed.yaml", obj)
	const warning = "gitgate would deny (dry run) UPDATE of ConfigMap shop/web-config by " + person

	r := env.kubectl.Run("", "diff", "-f", f, "--as", person)
	var exit *exec.ExitError
	if !errors.As(r.Err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%s: want exit code 1 (differences), got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "+  greeting: hi") || !strings.Contains(r.Stderr, warning) {
		t.Errorf("%s: want the diff and the warning %q\nstdout:\n%s\nstderr:\n%s", r.CommandLine(), warning, r.Stdout, r.Stderr)
	}

	r = env.kubectl.Run("", "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", f, "--as", person)
	if r.Failed() || !strings.Contains(r.Stderr, warning) {
		t.Errorf("%s: want allowed with %q, got %v\n%s", r.CommandLine(), warning, r.Err, r.Stderr)
	}
	if got := mustRun(t, "get", "configmap", "web-config", "-n", "shop", "-o", "jsonpath={.data.greeting}").Stdout; got != "hello" {
		t.Errorf("after the dry runs greeting = %q, want hello", got)
	}

	r = env.kubectl.Run("", "replace", "-f", f, "--as", person)
	if denied, _ := denial(r.Stderr); !denied {
		t.Errorf("%s: want the real request denied, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}
