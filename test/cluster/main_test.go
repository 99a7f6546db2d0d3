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
	"context"
	"fmt"
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
	dir, err := os.MkdirTemp("", "gitgate-cluster-test-")
	if err != nil {
		return err
	}
	r.Cleanup(func() { _ = os.RemoveAll(dir) })
	apiArgs, apiLog, err := harness.APIServerAudit(dir)
	if err != nil {
		return err
	}
	env.fixture = filepath.Join(harness.RepoRoot(), "test", "cluster", "testdata", "fleet")
	env.auditFile = filepath.Join(dir, "gitgate-audit.log")
	env.apiAuditLog = apiLog
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{
		Fixture:       env.fixture,
		APIServerArgs: apiArgs,
		GitgateArgs:   []string{"--audit-log-file", env.auditFile},
		Cluster:       &harness.ClusterOptions{},
	})
	if err != nil {
		return err
	}
	r.Cleanup(stack.Stop)
	r.Logs = stack.Gitgate.Logs
	env.stack, env.kubectl = stack, stack.Kubectl
	// gitgate's own namespace, as installed: its drift scan's Lease and the
	// ConfigMap through which replicas share revisions live there. The
	// webhook leaves it out.
	if r := env.kubectl.Run("", "create", "namespace", harness.GitgateNamespace); r.Failed() {
		return fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}
