// Package policy drives gitgate's modes, break-glass grants and audit trail
// end to end: the real kubectl against a real kube-apiserver (with its own
// audit log) that calls the real gitgate binary.
package policy

import (
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

// env is the cluster, Git server and gitgate the tests share. Each test
// applies the fleet itself and removes the labels and grants it adds, so
// any test runs alone; audit records are told apart by time.
var env struct {
	stack       *harness.Stack
	kubectl     *harness.Kubectl
	fixture     string
	auditFile   string // gitgate's --audit-log-file
	apiAuditLog string // the API server's audit log
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "policy", setup)) }

func setup(r *harness.Running) error {
	env.fixture = filepath.Join(harness.RepoRoot(), "test", "policy", "testdata", "fleet")
	stack, err := harness.StartAudited(r, env.fixture, harness.StackOptions{}, func(auditFile string) []string {
		// Global warn; Git labels shop enforce and shop-audit audit.
		return []string{
			"--mode", "warn",
			"--break-glass-namespace", gitgateNS,
			"--audit-log-file", auditFile,
			"--audit-log-max-bytes", strconv.Itoa(auditMaxBytes),
			"--audit-log-max-backups", "1000",
		}
	})
	if err != nil {
		return err
	}
	env.stack, env.kubectl = stack.Stack, stack.Kubectl
	env.auditFile, env.apiAuditLog = stack.AuditFile, stack.APIAuditLog
	return nil
}
