// Package argocd runs gitgate next to the real Argo CD (v3.6.2, built from
// source by hack/build-argocd.sh): redis, the repo server, the application
// controller and the ApplicationSet controller, the controllers running as
// their own service accounts with tokens, syncing a repository served over
// smart HTTP into the cluster their cluster Secret names. gitgate runs
// with --source argocd, the shipped webhook configuration, --fields strict
// and enforce mode: it renders every Application that syncs to this
// cluster (the cluster Secret's name, --argocd-cluster-name) as Argo CD
// does, from the repository it fetches itself. The root Application fleet
// (an app of apps, created before gitgate) syncs the argocd folder: the
// Applications plain (a directory) and kustomized (a kustomize root).
// Setup also turns Argo CD's sync impersonation on, not enforced, with
// the AppProject imp and its service account (impersonate_test.go); the
// default project names no service account, so its Applications sync as
// the controller.
package argocd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	// person has cluster-admin rights; only gitgate stands in the way.
	person = harness.Person
	// argoFolder is where Git declares the Applications and the
	// ApplicationSet, which the root Application syncs.
	argoFolder = "argocd"
	// syncTimeout bounds how long Argo CD may take to sync an Application;
	// a liveness bound, not a performance target.
	syncTimeout = 3 * time.Minute
)

// The Applications setup creates, as Git declares them, and the objects
// they sync.
var (
	plainApp = harness.ArgoCDApplication{Name: "plain", Path: "apps/plain", Namespace: "argo-plain"}
	kustApp  = harness.ArgoCDApplication{Name: "kustomized", Path: "apps/kustomized", Namespace: "argo-kustomized"}
	// rootApp syncs argoFolder: the other Applications.
	rootApp = harness.ArgoCDApplication{Name: "fleet", Path: argoFolder, Namespace: harness.ArgoCDNamespace}
)

var env struct {
	kubectl *harness.Kubectl
	git     *harness.GitServer
	argocd  *harness.ArgoCD
	gitgate *harness.Gitgate
	// head is the commit setup declared the Applications at.
	head string
	// setupMetrics is gitgate's metrics once the Applications synced,
	// before any test wrote.
	setupMetrics string
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "argocd", setup)) }

// setup starts everything in the order a cluster gets it: the control
// plane (kubeadm's admission), Git, Argo CD bootstrapped with its root
// Application, then gitgate and its webhook, after which every write is
// judged, and the cluster's controllers (kube-controller-manager,
// kube-scheduler, kwok); Argo CD syncs the Applications Git declares, and
// those sync their objects.
func setup(run *harness.Running) error {
	cp, kubectl, err := harness.StartTestControlPlane(run, harness.ControlPlaneOptions{ClusterAdmission: true})
	if err != nil {
		return err
	}
	env.kubectl = kubectl
	if err := harness.ApplyKwokRBAC(env.kubectl); err != nil {
		return err
	}
	if err := startGit(run); err != nil {
		return err
	}
	if env.argocd, err = harness.StartArgoCD(harness.ArgoCDOptions{Kubeconfig: cp.Kubeconfig}); err != nil {
		return err
	}
	run.Cleanup(env.argocd.Stop)
	if err := setupImpersonation(); err != nil {
		return err
	}
	if r := env.kubectl.Run(rootApp.YAML(), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("create the root Application: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if env.gitgate, err = harness.Admit(run, cp, harness.GitgateOptions{
		Args: []string{"--source", "argocd", "--argocd-cluster-name", harness.ArgoCDCluster, "--argocd-min-interval", "1s",
			"--fields", "strict", "--mode", "enforce"},
	}, env.argocd.Logs); err != nil {
		return err
	}
	// The cluster's own controllers, as Argo CD meets them: the garbage
	// collector finishes the foreground deletion Argo CD deletes hooks
	// with (BeforeHookCreation).
	cluster, err := harness.StartCluster(cp, harness.ClusterOptions{})
	if err != nil {
		return err
	}
	run.Cleanup(cluster.Stop)
	if err := waitApplications(); err != nil {
		return err
	}
	env.setupMetrics, err = env.gitgate.Metrics()
	return err
}

// startGit serves the fixture and commits the Applications, which name
// the server's URL, into argoFolder. The ApplicationSet comes later
// (TestApplicationSetGeneratesApplications).
func startGit(run *harness.Running) error {
	var err error
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join("testdata", "fleet")}); err != nil {
		return err
	}
	run.Cleanup(env.git.Close)
	plainApp.RepoURL, kustApp.RepoURL, rootApp.RepoURL = env.git.HTTPURL(), env.git.HTTPURL(), env.git.HTTPURL()
	env.head, err = env.git.Commit(harness.Change{Message: "declare the Applications", Write: map[string]string{
		argoFolder + "/applications.yaml": plainApp.YAML() + "---\n" + kustApp.YAML(),
	}})
	return err
}

// waitApplications waits until Argo CD synced the root Application and
// the two it declares.
func waitApplications() error {
	for _, app := range []string{rootApp.Name, plainApp.Name, kustApp.Name} {
		if err := env.argocd.WaitSynced(app, env.head, syncTimeout); err != nil {
			return err
		}
	}
	return nil
}
