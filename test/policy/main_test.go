// Package policy drives gitgate's modes, break-glass grants and audit trail
// end to end: the real kubectl against a real kube-apiserver (with its own
// audit log) that calls the real gitgate binary.
package policy

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	agent  = harness.Agent
	person = harness.Person
	// gitgateNS holds the break-glass ConfigMap; the webhook leaves it out.
	gitgateNS = harness.GitgateNamespace // left out of the webhook by RegisterWebhook
	// auditMaxBytes is small so that the bulk test rotates several times.
	auditMaxBytes = 64 << 10
)

// env is shared by the tests of this package; they run in file order.
var env struct {
	stack       *harness.Stack
	kubectl     *harness.Kubectl
	fixture     string
	auditFile   string // gitgate's --audit-log-file
	apiAuditLog string // the API server's audit log
}

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // gittestserver logs every Git request
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gitgate-policy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	apiArgs, apiLog, err := harness.APIServerAudit(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.fixture = filepath.Join(harness.RepoRoot(), "test", "policy", "testdata", "fleet")
	env.auditFile = filepath.Join(dir, "gitgate-audit.log")
	env.apiAuditLog = apiLog
	ctx := context.Background()
	stack, err := harness.StartStack(ctx, harness.StackOptions{
		Fixture:       env.fixture,
		APIServerArgs: apiArgs,
		// Global warn; Git labels shop enforce and shop-audit audit.
		GitgateArgs: []string{
			"--mode", "warn",
			"--break-glass-namespace", gitgateNS,
			"--audit-log-file", env.auditFile,
			"--audit-log-max-bytes", strconv.Itoa(auditMaxBytes),
			"--audit-log-max-backups", "1000",
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "policy setup:", err)
		return 1
	}
	defer stack.Stop()
	env.stack, env.kubectl = stack, stack.Kubectl
	if r := env.kubectl.Run("", "create", "namespace", gitgateNS); r.Failed() {
		fmt.Fprintf(os.Stderr, "policy setup: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- gitgate logs ---\n%s\n", stack.Gitgate.Logs())
	}
	return code
}
