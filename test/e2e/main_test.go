// Package e2e drives the real kubectl against a real kube-apiserver that
// calls the real gitgate binary, which follows a real Git server over HTTP.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
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

// env is shared by the tests of this package; they run in order and build
// on each other's state, as a person's session would.
var env struct {
	git     *harness.GitServer
	gitgate *harness.Gitgate
	kubectl *harness.Kubectl
	fixture string
}

func TestMain(m *testing.M) {
	// gittestserver logs every Git request through the standard logger.
	log.SetOutput(io.Discard)
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: env.fixture})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	env.git, env.gitgate, env.kubectl = stack.Git, stack.Gitgate, stack.Kubectl
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- gitgate logs ---\n%s\n", stack.Gitgate.Logs())
	}
	stack.Stop()
	os.Exit(code)
}
