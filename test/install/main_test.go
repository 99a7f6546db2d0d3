// Package install proves the shipped install: manifests/ applies to a real
// API server, the self-managed certificate mode issues, publishes and
// rotates its CA with no failed admission request, replicas share one CA,
// the webhook's scope keeps kube-system writable and leases and events away
// from gitgate, and gitgate runs with exactly the RBAC the manifests grant.
// gitgate runs outside the cluster, so the webhook configuration is the
// shipped one with its Service swapped for a URL to 127.0.0.1.
package install

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	namespace   = "gitgate-system"
	serviceAcct = "system:serviceaccount:gitgate-system:gitgate"
	webhookName = "gitgate"
	secretName  = "gitgate-webhook-tls"
)

// env is shared by the tests, which run in file order and build on each
// other's state.
var env struct {
	cp      *harness.ControlPlane
	kubectl *harness.Kubectl
	git     *harness.GitServer
	proxy   *harness.TCPProxy
	// saKubeconfig acts as gitgate's ServiceAccount.
	saKubeconfig string
	gitgates     []*harness.Gitgate
	fixture      string
}

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // gittestserver logs every request
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "install setup:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if env.cp, err = harness.StartControlPlane(harness.ControlPlaneOptions{}); err != nil {
		return 1, err
	}
	defer env.cp.Stop()
	if env.kubectl, err = harness.NewKubectl(env.cp.Kubeconfig); err != nil {
		return 1, err
	}
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: env.fixture}); err != nil {
		return 1, err
	}
	defer env.git.Close()
	if env.proxy, err = harness.StartTCPProxy(); err != nil {
		return 1, err
	}
	defer env.proxy.Close()
	env.saKubeconfig = filepath.Join(env.cp.Dir, "gitgate-sa.kubeconfig")
	if err := harness.ImpersonatingKubeconfig(env.cp.Kubeconfig, env.saKubeconfig, serviceAcct, harness.ServiceAccountGroups(namespace)...); err != nil {
		return 1, err
	}
	code := m.Run()
	for _, g := range env.gitgates {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- gitgate logs ---\n%s\n", g.Logs())
		}
		g.Stop()
	}
	return code, nil
}
