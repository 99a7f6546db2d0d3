// Package e2e drives the real kubectl against a real kube-apiserver that
// calls the real gitgate binary, which follows a real Git server over HTTP.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	agent            = harness.Agent
	person           = harness.Person
	exemptController = harness.ExemptController
)

// gitgateArgs are the flags harness.StartStack gives gitgate.
var gitgateArgs = []string{"--branch", "main", "--interval", "1s"}

// env is the cluster, Git server and gitgate the tests share. Each test
// brings the shop to the state it needs (see applyShop) and undoes what
// would mislead the next one, so any test runs alone.
var env struct {
	stack   *harness.Stack
	kubectl *harness.Kubectl
	fixture string
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "e2e", setup)) }

func setup(r *harness.Running) error {
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: env.fixture})
	if err != nil {
		return err
	}
	r.Cleanup(stack.Stop)
	// Read through env: followGit replaces gitgate.
	r.Logs = func() string { return env.stack.Gitgate.Logs() }
	env.stack, env.kubectl = stack, stack.Kubectl
	return nil
}

// followGit serves the repository again after env.stack.Git.Stop and
// points gitgate at it. gittestserver comes back on a new port, so a new
// gitgate starts against it, the webhook is registered with its CA, and the
// old process stops.
func followGit(t *testing.T) {
	t.Helper()
	if err := env.stack.Git.Restart(); err != nil {
		t.Fatalf("restart git server: %v", err)
	}
	g, err := harness.StartGitgate(harness.GitgateOptions{
		Kubeconfig: env.stack.ControlPlane.Kubeconfig,
		RepoURL:    env.stack.Git.HTTPURL(),
		Args:       gitgateArgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.RegisterWebhook(context.Background(), env.stack.ControlPlane.Client, g.URL(), g.CA); err != nil {
		g.Stop()
		t.Fatal(err)
	}
	old := env.stack.Gitgate
	env.stack.Gitgate = g
	old.Stop()
	if t.Failed() {
		t.Logf("gitgate logs before the Git server went away:\n%s", harness.Tail(old.Logs(), 100))
	}
}
