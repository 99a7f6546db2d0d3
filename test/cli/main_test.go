// Package cli drives gitgate's client commands (check, drift) against the
// real kube-apiserver, with the real gitgate webhook registered through the
// project's own webhook configuration: check must give the webhook's
// exact verdict text for the same request, and drift must see what was
// applied and then changed.
package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	agent            = harness.Agent
	person           = harness.Person
	exemptController = harness.ExemptController
)

var env struct {
	stack   *harness.Stack
	kubectl *harness.Kubectl
	fixture string
	bin     string
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "cli", setup)) }

func setup(r *harness.Running) error {
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	// Dry runs are warned, not denied (TestServerDryRunIsWarned), and the
	// drift scan runs every second (TestServeScansForDrift).
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: env.fixture, GitgateArgs: []string{"--dry-run-action", "warn", "--drift-scan-interval", "1s"}})
	if err != nil {
		return err
	}
	r.Cleanup(stack.Stop)
	r.Logs = stack.Gitgate.Logs
	env.stack, env.kubectl = stack, stack.Kubectl
	env.bin, err = harness.BuildGitgate()
	return err
}

// gitgate runs the gitgate binary with args; it returns the exit code.
func gitgate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(env.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatalf("gitgate %v: %v", args, err)
	}
	return 0, out.String(), errb.String()
}

// source are the flags that make a client command read what the webhook
// enforces.
func source() []string {
	return []string{"--repo-url", env.stack.Git.HTTPURL(), "--branch", "main"}
}

func applyShop(t *testing.T) {
	t.Helper()
	mustRun(t, "apply", "--as", agent, "-f", env.fixture)
}

func mustRun(t *testing.T, args ...string) harness.Result {
	t.Helper()
	r := env.kubectl.Run("", args...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r
}

// live reads an object as kubectl get -o yaml prints it.
func live(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := mustRun(t, append([]string{"get", "-o", "yaml"}, args...)...)
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// writeYAML writes obj to a file in dir and returns its path.
func writeYAML(t *testing.T, dir, name string, obj map[string]any) string {
	t.Helper()
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// set sets the field at the dotted path of obj.
func set(obj map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	m := obj
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}
