// Package helm runs gitgate with --source flux next to the real GitOps
// agent for Helm: Flux's source-controller, kustomize-controller (v1.9.6)
// and helm-controller (v1.6.3, on Helm v4.3.2), built from source and
// running as their own service accounts. Git declares three HelmReleases,
// whose charts come from a Helm repository over HTTP, an OCI registry and
// the Git repository itself, all on loopback, and a fourth whose chart
// comes from a Bucket, which gitgate does not fetch; kustomize-controller
// applies them, and helm-controller installs them through the shipped
// webhook configuration with gitgate (--fields strict, enforce mode)
// behind it, which enforces each HelmRelease as a root of its own.
package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	person = harness.Person
	// fleet names the GitRepository and the Kustomization that applies
	// ./apps: the shop namespace and, after the bootstrap, the Helm
	// sources and releases.
	fleet = "fleet"
	// shop is where the HelmReleases and what they install live.
	shop = "shop"
)

var env struct {
	kubectl *harness.Kubectl
	git     *harness.GitServer
	repo    *harness.HelmRepo
	oci     *harness.OCIRegistry
	flux    *harness.Flux
	gitgate *harness.Gitgate
	// releases is what Git declares for each HelmRelease (helm_test.go).
	releases []release
	// head is the commit that declares them.
	head string
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "helm", setup)) }

// bootstrap is what `flux bootstrap` leaves: the fleet GitRepository and
// Kustomization, applied by the cluster admin before gitgate's webhook is
// registered. Git does not declare them, so after that nobody but the
// agent may change them: the tests wait for their 2s interval rather than
// annotate them to reconcile.
const bootstrap = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 2s
  timeout: 30s
  url: %q
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 2s
  retryInterval: 2s
  timeout: 1m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: fleet}
`

// setup starts the control plane, the chart sources, Git and Flux with
// helm-controller; bootstraps Flux; then gitgate --source flux and its
// webhook; and only then commits the HelmReleases, so that every write
// they cause passes the webhook.
func setup(run *harness.Running) error {
	cp, kubectl, err := harness.StartTestControlPlane(run, harness.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	env.kubectl = kubectl
	if err := startChartSources(run); err != nil {
		return err
	}
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join("testdata", "fleet")}); err != nil {
		return err
	}
	run.Cleanup(env.git.Close)
	if env.flux, err = harness.StartFlux(harness.FluxOptions{Kubeconfig: cp.Kubeconfig, Helm: true, HelmArgs: []string{"--requeue-dependency=2s"}}); err != nil {
		return err
	}
	run.Cleanup(env.flux.Stop)
	if r := env.kubectl.Run(fmt.Sprintf(bootstrap, env.git.HTTPURL()), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if err := env.flux.WaitApplied(fleet, "", 2*time.Minute); err != nil {
		return fmt.Errorf("%w\nFlux logs:\n%s", err, env.flux.Logs())
	}
	if r := env.kubectl.Run("", "create", "namespace", harness.GitgateNamespace); r.Failed() && !strings.Contains(r.Stderr, "AlreadyExists") {
		return fmt.Errorf("%s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if env.gitgate, err = harness.Admit(run, cp, harness.GitgateOptions{
		Args: []string{"--source", "flux", "--flux-namespace", harness.FluxNamespace, "--flux-namespace", shop, "--flux-min-interval", "1s",
			"--git-insecure-http", "--fields", "strict", "--mode", "enforce", "--drift-scan-interval", "1s"},
	}, env.flux.Logs); err != nil {
		return err
	}
	return declareReleases()
}

// startChartSources serves podinfo from a Helm repository over HTTP and
// pushes shopfront to an OCI registry.
func startChartSources(run *harness.Running) error {
	var err error
	if env.repo, err = harness.StartHelmRepo(); err != nil {
		return err
	}
	run.Cleanup(env.repo.Close)
	if _, err := env.repo.Add(harness.ChartFixture("podinfo")); err != nil {
		return err
	}
	if env.oci, err = harness.StartOCIRegistry(); err != nil {
		return err
	}
	run.Cleanup(env.oci.Close)
	_, err = env.oci.Push(harness.ChartFixture("shopfront"))
	return err
}

// declareReleases commits the Helm sources, the values ConfigMap, the
// HelmReleases and shopfront's chart, and waits until kustomize-controller
// has applied that commit.
func declareReleases() error {
	env.releases = releases()
	files, err := harness.ChartFiles(harness.ChartFixture("shopfront"), "charts/shopfront")
	if err != nil {
		return err
	}
	files["apps/helm.yaml"] = helmYAML(env.releases)
	if env.head, err = env.git.Commit(harness.Change{Write: files, Message: "shop: three HelmReleases"}); err != nil {
		return err
	}
	return env.flux.WaitApplied(fleet, env.head, 2*time.Minute)
}
