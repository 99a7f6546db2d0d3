package harness

import (
	"context"
	"io"
	"testing"
)

// Identities used by the tests and the demo.
const (
	// Agent is Flux's kustomize-controller, a default GitOps agent.
	Agent = "system:serviceaccount:flux-system:kustomize-controller"
	// Person has cluster-admin rights; only gitgate stands in the way.
	Person = "dev-user"
	// ExemptController runs in kube-system, like the deployment controller.
	ExemptController = "system:serviceaccount:kube-system:deployment-controller"
)

// Stack is the whole setup: control plane, Git server, gitgate, and the
// webhook registered with the API server.
type Stack struct {
	ControlPlane *ControlPlane
	Git          *GitServer
	Gitgate      *Gitgate
	Kubectl      *Kubectl
	// Cluster runs when StackOptions.Cluster is set.
	Cluster *Cluster
}

// StackOptions configure StartStack.
type StackOptions struct {
	// Fixture seeds the Git repository.
	Fixture string
	// GitgateArgs are added to --branch main --interval 1s.
	GitgateArgs []string
	// APIServerArgs are passed to the API server.
	APIServerArgs map[string][]string
	// GitgateLogs also receives gitgate's output.
	GitgateLogs io.Writer
	// Cluster, when set, makes the control plane a cluster: the API
	// server's admission as kubeadm's (ClusterAdmission), and, once
	// gitgate's webhook is registered, kube-controller-manager,
	// kube-scheduler and kwok (StartCluster), so that gitgate meets every
	// built-in controller's request from the start.
	Cluster *ClusterOptions
}

// StartStack starts everything in order. On error, what was started is
// stopped again.
func StartStack(ctx context.Context, opts StackOptions) (_ *Stack, err error) {
	// A local s, not the named result: a failed start returns nil, and the
	// cleanup still stops what did start.
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	cpOpts := ControlPlaneOptions{APIServerArgs: opts.APIServerArgs, ClusterAdmission: opts.Cluster != nil}
	if s.ControlPlane, err = StartControlPlane(cpOpts); err != nil {
		return nil, err
	}
	if s.Kubectl, err = NewKubectl(s.ControlPlane.Kubeconfig); err != nil {
		return nil, err
	}
	// Everyone here has the credentials to change anything. RBAC comes
	// before the webhook, which would deny it: Git does not declare it.
	if err = GrantTestAdmins(s.Kubectl); err != nil {
		return nil, err
	}
	if err = CreateDryRunNamespace(s.Kubectl); err != nil {
		return nil, err
	}
	if opts.Cluster != nil {
		if err = ApplyKwokRBAC(s.Kubectl); err != nil {
			return nil, err
		}
	}
	if s.Git, err = StartGitServer(GitServerOptions{Fixture: opts.Fixture}); err != nil {
		return nil, err
	}
	if s.Gitgate, err = StartGitgate(GitgateOptions{
		Kubeconfig: s.ControlPlane.Kubeconfig,
		RepoURL:    s.Git.HTTPURL(),
		Args:       append([]string{"--branch", "main", "--interval", "1s"}, opts.GitgateArgs...),
		LogTo:      opts.GitgateLogs,
	}); err != nil {
		return nil, err
	}
	if err = RegisterWebhook(ctx, s.ControlPlane.Client, s.Gitgate.URL(), s.Gitgate.CA); err != nil {
		return nil, err
	}
	if opts.Cluster != nil {
		if s.Cluster, err = StartCluster(s.ControlPlane, *opts.Cluster); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Stop stops whatever runs, in reverse order.
func (s *Stack) Stop() {
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
	if s.Gitgate != nil {
		s.Gitgate.Stop()
	}
	if s.Git != nil {
		s.Git.Close()
	}
	if s.ControlPlane != nil {
		_ = s.ControlPlane.Stop()
	}
}

// rbac makes the people and controllers of the tests cluster-admins, so
// that only gitgate stands in their way.
const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: gitgate-test-admins
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
- kind: Group
  name: system:nodes
  apiGroup: rbac.authorization.k8s.io
`

// SwapGitgate starts another gitgate on the stack's Git server, with
// --branch main --interval 1s and args, and registers it with the API
// server in place of the stack's own; the stack's gitgate is registered
// again, and the other one stopped, when the test ends.
func (s *Stack) SwapGitgate(t testing.TB, args ...string) *Gitgate {
	t.Helper()
	gg, err := StartGitgate(GitgateOptions{
		Kubeconfig: s.ControlPlane.Kubeconfig,
		RepoURL:    s.Git.HTTPURL(),
		Args:       append([]string{"--branch", "main", "--interval", "1s"}, args...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RegisterWebhook(context.Background(), s.ControlPlane.Client, s.Gitgate.URL(), s.Gitgate.CA); err != nil {
			t.Errorf("register the stack's gitgate again: %v", err)
		}
		gg.Stop()
		if t.Failed() {
			t.Logf("gitgate %v logs (last 100 lines):\n%s", args, Tail(gg.Logs(), 100))
		}
	})
	if err := RegisterWebhook(context.Background(), s.ControlPlane.Client, gg.URL(), gg.CA); err != nil {
		t.Fatal(err)
	}
	return gg
}
