// Package flux runs gitgate next to the real GitOps agent: Flux's
// source-controller and kustomize-controller v1.9.6, built from source,
// running as their own service accounts with tokens, applying a repository
// served over smart HTTP. gitgate enforces the same repository with the
// shipped webhook configuration (rules, matchConditions, namespaceSelector),
// --fields strict and enforce mode. Flux manages itself: its GitRepository
// and Kustomization are declared in the repository, as `flux bootstrap`
// leaves them.
package flux

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	// sync names Flux's GitRepository and Kustomization.
	sync = "flux-system"
	// person has cluster-admin rights; only gitgate stands in the way.
	person = harness.Person
	// gotkSync is where Git declares Flux's own objects.
	gotkSync = "flux-system/gotk-sync.yaml"
)

var env struct {
	kubectl *harness.Kubectl
	// client is the cluster admin's, e.g. to read substituteFrom values.
	client  client.Client
	git     *harness.GitServer
	flux    *harness.Flux
	gitgate *harness.Gitgate
	// operator is a kubeconfig holding the token of a stand-in operator's
	// service account, ops/operator: a controller to gitgate.
	operator *harness.Kubectl
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "flux", setup)) }

// setup starts everything in the order a cluster gets it: the control
// plane, Git, Flux applying the repository, an operator, then gitgate and
// its webhook, after which every write below is judged.
func setup(run *harness.Running) error {
	cp, kubectl, err := harness.StartTestControlPlane(run, harness.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	env.client, env.kubectl = cp.Client, kubectl
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join("testdata", "fleet")}); err != nil {
		return err
	}
	run.Cleanup(env.git.Close)
	if err := startFlux(run, cp.Kubeconfig); err != nil {
		return err
	}
	if err := startOperator(run); err != nil {
		return err
	}
	env.gitgate, err = harness.Admit(run, cp, harness.GitgateOptions{
		RepoURL: env.git.HTTPURL(),
		Args:    []string{"--branch", "main", "--interval", "1s", "--fields", "strict", "--mode", "enforce"},
	}, env.flux.Logs)
	return err
}

// startFlux runs the controllers, declares their sync in Git and lets Flux
// apply the first revision.
func startFlux(run *harness.Running, kubeconfig string) error {
	var err error
	if env.flux, err = harness.StartFlux(harness.FluxOptions{Kubeconfig: kubeconfig}); err != nil {
		return err
	}
	run.Cleanup(env.flux.Stop)
	s := harness.FluxSync{Name: sync, URL: env.git.HTTPURL()}
	head, err := env.git.Commit(harness.Change{Write: map[string]string{gotkSync: s.YAML()}, Message: "flux bootstrap"})
	if err != nil {
		return err
	}
	if err := env.flux.ApplySync(s); err != nil {
		return err
	}
	return env.flux.WaitApplied(sync, head, 2*time.Minute)
}

// startOperator creates the operator's namespace, service account and
// rights, and a kubeconfig with its token.
func startOperator(run *harness.Running) error {
	const rbac = `apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: Namespace
metadata: {name: gitgate-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: operator, namespace: ops}
`
	if r := env.kubectl.Run(rbac, "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	dir, err := os.MkdirTemp("", "gitgate-flux-test-")
	if err != nil {
		return err
	}
	run.Cleanup(func() { os.RemoveAll(dir) })
	path, err := harness.ServiceAccountKubeconfig(env.kubectl, dir, "ops", "operator")
	if err != nil {
		return err
	}
	env.operator, err = harness.NewKubectl(path)
	return err
}
