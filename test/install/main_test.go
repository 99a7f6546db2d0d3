// Package install proves the shipped install: manifests/ applies to a real
// API server, the self-managed certificate mode issues, publishes and
// rotates its CA with no failed admission request, replicas share one CA,
// the webhook's scope keeps kube-system writable and leases and events away
// from gitgate, and gitgate runs with exactly the RBAC the manifests grant.
// gitgate runs outside the cluster, so the webhook configuration is the
// shipped one with its Service swapped for a URL to 127.0.0.1.
package install

import (
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
	// dryRunNamespace is the sandbox manifests/base/dryrun.yaml creates.
	dryRunNamespace = harness.DryRunNamespace
)

// env is what the tests share: a control plane, a Git server and the proxy
// that stands in for gitgate's Service. Each test installs gitgate and
// starts its replicas itself (see install), so any test runs alone.
var env struct {
	cp      *harness.ControlPlane
	kubectl *harness.Kubectl
	git     *harness.GitServer
	proxy   *harness.TCPProxy
	// saKubeconfig acts as gitgate's ServiceAccount.
	saKubeconfig string
	fixture      string
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "install", setup)) }

// setup starts what every test needs. There is no shared gitgate: the tests
// start their own replicas and log their output when they fail.
func setup(r *harness.Running) error {
	var err error
	if env.cp, err = harness.StartControlPlane(harness.ControlPlaneOptions{}); err != nil {
		return err
	}
	r.Cleanup(func() { _ = env.cp.Stop() })
	if env.kubectl, err = harness.NewKubectl(env.cp.Kubeconfig); err != nil {
		return err
	}
	// The test identities are cluster-admins; gitgate's ServiceAccount gets
	// only what the manifests grant.
	if err := harness.GrantTestAdmins(env.kubectl); err != nil {
		return err
	}
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: env.fixture}); err != nil {
		return err
	}
	r.Cleanup(env.git.Close)
	if env.proxy, err = harness.StartTCPProxy(); err != nil {
		return err
	}
	r.Cleanup(env.proxy.Close)
	env.saKubeconfig = filepath.Join(env.cp.Dir, "gitgate-sa.kubeconfig")
	return harness.ImpersonatingKubeconfig(env.cp.Kubeconfig, env.saKubeconfig, serviceAcct, harness.ServiceAccountGroups(namespace)...)
}
