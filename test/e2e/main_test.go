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
	agent  = "system:serviceaccount:flux-system:kustomize-controller"
	person = "dev-user"
	// exemptController runs in kube-system, like the HPA and deployment
	// controllers.
	exemptController = "system:serviceaccount:kube-system:deployment-controller"
)

// env is shared by the tests of this package; they run in order and build
// on each other's state, as a person's session would.
var env struct {
	cp      *harness.ControlPlane
	git     *harness.GitServer
	gitgate *harness.Gitgate
	kubectl *harness.Kubectl
	fixture string
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	ctx := context.Background()
	// gittestserver logs every Git request through the standard logger.
	log.SetOutput(io.Discard)
	env.fixture = filepath.Join(harness.RepoRoot(), "examples", "shop")
	cp, err := harness.StartControlPlane(harness.ControlPlaneOptions{})
	if err != nil {
		return 0, err
	}
	defer cp.Stop()
	env.cp = cp
	if env.kubectl, err = harness.NewKubectl(cp.Kubeconfig); err != nil {
		return 0, err
	}
	// Everyone in these tests has the credentials to change anything; only
	// gitgate stands in the way. RBAC comes before the webhook, which would
	// deny it: Git does not declare these bindings.
	if r := env.kubectl.Run(rbac, "apply", "-f", "-"); r.Failed() {
		return 0, fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	git, err := harness.StartGitServer(harness.GitServerOptions{Fixture: env.fixture})
	if err != nil {
		return 0, err
	}
	defer git.Close()
	env.git = git
	gg, err := harness.StartGitgate(harness.GitgateOptions{
		Kubeconfig: cp.Kubeconfig,
		RepoURL:    git.HTTPURL(),
		Args:       []string{"--branch", "main", "--interval", "1s"},
	})
	if err != nil {
		return 0, err
	}
	defer gg.Stop()
	env.gitgate = gg
	if err := harness.RegisterWebhook(ctx, cp.Client, gg.URL(), gg.CA); err != nil {
		return 0, err
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- gitgate logs ---\n%s\n", gg.Logs())
	}
	return code, nil
}

const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: e2e-admins
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: User
  name: dev-user
  apiGroup: rbac.authorization.k8s.io
- kind: ServiceAccount
  name: kustomize-controller
  namespace: flux-system
- kind: Group
  name: system:serviceaccounts:kube-system
  apiGroup: rbac.authorization.k8s.io
`
