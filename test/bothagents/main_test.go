// Package bothagents runs one gitgate for a cluster that runs both GitOps
// agents: Flux's source-controller and kustomize-controller v1.9.6 and
// Argo CD v3.6.2's repo server and application controller (built from
// source by hack/build-flux.sh and hack/build-argocd.sh), each as its own
// service accounts with tokens, syncing two folders of one repository
// served over smart HTTP. gitgate runs with --source flux,argocd, both
// drivers' flags, both agents' identities, the shipped webhook
// configuration, --fields strict and enforce mode: the Kustomization
// flux-system/flux-apps (folder flux) and the Application
// argocd/argo-apps (folder argo) are roots of one snapshot.
//
// Argo CD reads the repository through a TCP proxy, which setup closes
// while gitgate starts: the Kustomization's root loads, the
// Application's cannot, and gitgate must not be ready until it has.
package bothagents

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	// person has cluster-admin rights; only gitgate stands in the way.
	person = harness.Person
	// fluxAgent is kustomize-controller, the identity Flux applies as.
	fluxAgent = "system:serviceaccount:flux-system:kustomize-controller"
	// fluxApps names the GitRepository and the Kustomization that applies
	// the folder flux into namespace fluxNS.
	fluxApps = "flux-apps"
	fluxNS   = "flux-shop"
	// argoNS is where the Application argoApp syncs the folder argo.
	argoNS = "argo-shop"
	// fluxRoot and argoRoot are the roots as gitgate names them.
	fluxRoot = "Kustomization " + harness.FluxNamespace + "/" + fluxApps
	argoRoot = "Application " + harness.ArgoCDNamespace + "/argo-apps"
	// syncTimeout bounds how long an agent, or gitgate, may take to follow
	// a commit; a liveness bound, not a performance target.
	syncTimeout = 3 * time.Minute
)

// argoApp is the Application, as the cluster admin creates it; its
// RepoURL is the proxy's.
var argoApp = harness.ArgoCDApplication{Name: "argo-apps", Path: "argo", Namespace: argoNS}

var env struct {
	kubectl *harness.Kubectl
	git     *harness.GitServer
	// argoGit is the proxy between Argo CD (and gitgate's Argo CD driver,
	// which fetches the Application's repoURL) and the Git server.
	argoGit *harness.TCPProxy
	gitAddr string
	flux    *harness.Flux
	argocd  *harness.ArgoCD
	gitgate *harness.Gitgate
	// head is the commit setup's agents applied.
	head string
	// startup is what setup saw while gitgate started.
	startup startup
}

// startup records gitgate's readiness while the Application's repository
// was out of its reach.
type startup struct {
	// fluxLoaded: the Kustomization's root loaded, and argoLoaded: the
	// Application's had, when setup sampled /readyz.
	fluxLoaded, argoLoaded bool
	// readyEarly is a 200 from /readyz before the Application's root
	// loaded; readyCodes are the answers sampled.
	readyEarly bool
	readyCodes []int
	// argoLoadedWhenReady: the Application's root had loaded once
	// /readyz answered 200.
	argoLoadedWhenReady bool
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "bothagents", setup)) }

// setup starts everything in the order a cluster gets it: the control
// plane, Git, Flux applying its Kustomization, Argo CD syncing its
// Application, then one gitgate for both and its webhook, after which
// every write is judged.
func setup(run *harness.Running) error {
	cp, kubectl, err := harness.StartTestControlPlane(run, harness.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	env.kubectl = kubectl
	if err := startGit(run); err != nil {
		return err
	}
	if err := startAgents(run, cp.Kubeconfig); err != nil {
		return err
	}
	if err := startGitgate(run, cp.Kubeconfig); err != nil {
		return err
	}
	return harness.RegisterWebhook(context.Background(), cp.Client, env.gitgate.URL(), env.gitgate.CA)
}

// startGit serves the fixture, and the proxy Argo CD reads it through.
func startGit(run *harness.Running) error {
	var err error
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join("testdata", "fleet")}); err != nil {
		return err
	}
	run.Cleanup(env.git.Close)
	u, err := url.Parse(env.git.HTTPURL())
	if err != nil {
		return err
	}
	env.gitAddr = u.Host
	if env.argoGit, err = harness.StartTCPProxy(); err != nil {
		return err
	}
	run.Cleanup(env.argoGit.Close)
	env.argoGit.SetBackends(env.gitAddr)
	argoApp.RepoURL = "http://" + env.argoGit.Addr() + u.Path
	env.head, err = env.git.Head()
	return err
}

// startAgents runs Flux and Argo CD, has the cluster admin create the
// Kustomization and the Application, and waits until each agent applied
// the first commit.
func startAgents(run *harness.Running, kubeconfig string) error {
	var err error
	if env.flux, err = harness.StartFlux(harness.FluxOptions{Kubeconfig: kubeconfig}); err != nil {
		return err
	}
	run.Cleanup(env.flux.Stop)
	if env.argocd, err = harness.StartArgoCD(harness.ArgoCDOptions{Kubeconfig: kubeconfig}); err != nil {
		return err
	}
	run.Cleanup(env.argocd.Stop)
	if err := env.flux.ApplySync(harness.FluxSync{Name: fluxApps, URL: env.git.HTTPURL(), Path: "./flux"}); err != nil {
		return err
	}
	if r := env.kubectl.Run(argoApp.YAML(), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("create the Application: %s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if err := env.flux.WaitApplied(fluxApps, env.head, syncTimeout); err != nil {
		return fmt.Errorf("%w\nFlux logs:\n%s", err, env.flux.Logs())
	}
	if err := env.argocd.WaitSynced(argoApp.Name, env.head, syncTimeout); err != nil {
		return fmt.Errorf("%w\nArgo CD logs:\n%s", err, env.argocd.Logs())
	}
	return nil
}

// gitgateArgs are both drivers and their flags, and both agents spelled
// out (they are the defaults, which the shipped matchConditions skip).
var gitgateArgs = []string{
	"--source", "flux,argocd",
	"--flux-namespace", harness.FluxNamespace, "--flux-min-interval", "1s",
	"--argocd-namespace", harness.ArgoCDNamespace, "--argocd-cluster-name", harness.ArgoCDCluster, "--argocd-min-interval", "1s",
	"--agent", "system:serviceaccount:flux-system:*", "--agent", harness.ArgoCDAgent,
	"--fields", "strict", "--mode", "enforce",
}

// startGitgate starts gitgate with Argo CD's repository out of reach,
// records what /readyz answers once the Kustomization's root loaded, then
// lets the repository through and waits until gitgate is ready.
func startGitgate(run *harness.Running, kubeconfig string) error {
	env.argoGit.SetBackends()
	var err error
	env.gitgate, err = harness.StartGitgate(harness.GitgateOptions{Kubeconfig: kubeconfig, Args: gitgateArgs, NoWait: true})
	if err != nil {
		return err
	}
	run.Cleanup(env.gitgate.Stop)
	run.Logs = func() string {
		return env.gitgate.Logs() + "\n--- Flux logs ---\n" + env.flux.Logs() + "\n--- Argo CD logs ---\n" + env.argocd.Logs()
	}
	if err := waitLog(func() bool { return rootLoaded("root loaded", fluxRoot) }, 90*time.Second); err != nil {
		return fmt.Errorf("the Kustomization's root: %w\n%s", err, env.gitgate.Logs())
	}
	env.startup.fluxLoaded = true
	for range 15 {
		code := readyz()
		env.startup.readyCodes = append(env.startup.readyCodes, code)
		env.startup.readyEarly = env.startup.readyEarly || code == http.StatusOK
		time.Sleep(200 * time.Millisecond)
	}
	env.startup.argoLoaded = rootLoaded("Application loaded", argoRoot)
	env.argoGit.SetBackends(env.gitAddr)
	if err := env.gitgate.WaitReady(90 * time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, env.gitgate.Logs())
	}
	env.startup.argoLoadedWhenReady = rootLoaded("Application loaded", argoRoot)
	return nil
}

// readyz is the status /readyz answers now, 0 when it does not answer.
func readyz() int {
	resp, err := http.Get("http://" + env.gitgate.HealthAddr + harness.ReadyzPath)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rootLoaded reports whether gitgate logged msg for root.
func rootLoaded(msg, root string) bool {
	for _, line := range strings.Split(env.gitgate.Logs(), "\n") {
		if strings.Contains(line, `"msg":"`+msg+`"`) && strings.Contains(line, `"root":"`+root+`"`) {
			return true
		}
	}
	return false
}

// waitLog polls done until it holds.
func waitLog(done func() bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not logged after %s", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
