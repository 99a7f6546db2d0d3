// Package cluster runs gitgate in front of a whole cluster: kube-apiserver
// and etcd, kube-controller-manager and kube-scheduler as kubeadm runs them,
// and kwok standing in for the kubelets of two fake Nodes, with gitgate
// registered through the project's own webhook configuration. It shows that
// what the agent applies rolls out, that a person's everyday operations
// (rollout restart, drain) work and kubectl scale does not, that the
// built-in controllers clean up after the agent's prune, and that no
// system identity is ever refused.
package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	agent  = harness.Agent
	person = harness.Person
)

// env is the cluster, Git server and gitgate the tests share. Each test
// brings the fleet to Git's state and waits for it to roll out
// (applyFleet), and undoes what it changes beyond that, so any test runs
// alone.
var env struct {
	stack       *harness.Stack
	kubectl     *harness.Kubectl
	fixture     string
	auditFile   string // gitgate's --audit-log-file
	apiAuditLog string // the API server's audit log
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "cluster", setup)) }

func setup(r *harness.Running) error {
	env.fixture = filepath.Join(harness.RepoRoot(), "test", "cluster", "testdata", "fleet")
	stack, err := harness.StartAudited(r, env.fixture, harness.StackOptions{Cluster: &harness.ClusterOptions{}},
		func(auditFile string) []string { return []string{"--audit-log-file", auditFile} })
	if err != nil {
		return err
	}
	env.stack, env.kubectl = stack.Stack, stack.Kubectl
	env.auditFile, env.apiAuditLog = stack.AuditFile, stack.APIAuditLog
	return nil
}
