// Package fluxsource runs gitgate with --source flux next to the real
// GitOps agent: Flux's source-controller and kustomize-controller v1.9.6
// as their own service accounts, applying two Kustomizations of one
// repository served over smart HTTP with basic auth. gitgate watches the
// same GitRepository and Kustomizations, fetches the repository itself
// (credentials from the GitRepository's secretRef) and renders each
// Kustomization as kustomize-controller does, with the shipped webhook
// configuration, --fields strict and enforce mode.
package fluxsource

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	person  = harness.Person
	gitUser = "flux"
	gitPass = "fleet-s3cr3t"
	// apps uses postBuild substitution from a ConfigMap, targetNamespace,
	// an images override, a patch and SOPS decryption; infra is plain.
	apps  = "apps"
	infra = "infra"
	// teamA is a Kustomization the Kustomization tenants-system/tenants
	// applies: Git declares it to no root gitgate watches.
	teamA = "team-a"
	// operator is an operator's service account: a controller to gitgate,
	// with cluster-admin rights.
	operator = "system:serviceaccount:ops:operator"
)

var env struct {
	kubectl *harness.Kubectl
	git     *harness.GitServer
	flux    *harness.Flux
	gitgate *harness.Gitgate
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "fluxsource", setup)) }

// fluxObjects are the GitRepository (with its auth Secret), the
// substituteFrom ConfigMap and the two Kustomizations; the Kustomization
// tenants-system/tenants, outside the namespace gitgate watches, which
// applies the Kustomization flux-system/team-a; and cluster-admin rights
// for the service account of an operator, a controller to gitgate. The
// cluster admin applies them before gitgate's webhook is registered.
const fluxObjects = `apiVersion: v1
kind: Secret
metadata: {name: fleet-auth, namespace: flux-system}
stringData: {username: %q, password: %q}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: apps-vars, namespace: flux-system}
data: {greeting: hello}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 2s
  timeout: 30s
  url: %q
  ref: {branch: main}
  secretRef: {name: fleet-auth}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec:
  interval: 2s
  retryInterval: 2s
  timeout: 1m
  path: ./infra
  prune: true
  sourceRef: {kind: GitRepository, name: fleet}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 2s
  retryInterval: 2s
  timeout: 1m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: fleet}
  targetNamespace: shop
  images:
  - {name: nginx, newTag: "1.27"}
  patches:
  - target: {kind: Deployment, name: web}
    patch: |
      - op: replace
        path: /spec/replicas
        value: 2
  postBuild:
    substituteFrom:
    - {kind: ConfigMap, name: apps-vars}
    - {kind: Secret, name: apps-secret-vars, optional: true}
  decryption: {provider: sops}
---
apiVersion: v1
kind: Namespace
metadata: {name: tenants-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: tenants, namespace: tenants-system}
spec:
  interval: 2s
  retryInterval: 2s
  timeout: 1m
  path: ./tenants
  prune: true
  sourceRef: {kind: GitRepository, name: fleet, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: operator, namespace: ops}
`

// setup starts the control plane, Git, Flux applying both Kustomizations,
// then gitgate --source flux and its webhook.
func setup(run *harness.Running) error {
	cp, kubectl, err := harness.StartTestControlPlane(run, harness.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	env.kubectl = kubectl
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join("testdata", "fleet"), Username: gitUser, Password: gitPass}); err != nil {
		return err
	}
	run.Cleanup(env.git.Close)
	if env.flux, err = harness.StartFlux(harness.FluxOptions{Kubeconfig: cp.Kubeconfig}); err != nil {
		return err
	}
	run.Cleanup(env.flux.Stop)
	if r := env.kubectl.Run(fmt.Sprintf(fluxObjects, gitUser, gitPass, env.git.HTTPURL()), "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	for _, ks := range []string{infra, apps, teamA} {
		if err := env.flux.WaitApplied(ks, "", 2*time.Minute); err != nil {
			return fmt.Errorf("%w\nFlux logs:\n%s", err, env.flux.Logs())
		}
	}
	env.gitgate, err = harness.Admit(run, cp, harness.GitgateOptions{
		Args: []string{"--source", "flux", "--flux-namespace", harness.FluxNamespace, "--flux-min-interval", "1s",
			"--git-insecure-http", "--fields", "strict", "--mode", "enforce"},
	}, env.flux.Logs)
	return err
}
