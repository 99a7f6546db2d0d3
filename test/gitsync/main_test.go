// Package gitsync drives the real gitgate binary through the life of a Git
// repository: private (basic auth), built with kustomize, changed by push
// notifications, broken, force-pushed. The real kubectl shows which
// revision is enforced.
package gitsync

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	agent    = harness.Agent
	person   = harness.Person
	user     = "fleet-reader"
	password = "pa55-w0rd-never-logged"
	secret   = "receiver-shared-secret-0123456789"
)

// env is the cluster, Git server (HTTP and SSH) and gitgate the tests
// share; each test pushes and enforces the revision it needs.
var env struct {
	cp       *harness.ControlPlane
	git      *harness.GitServer
	ssh      harness.SSHAccess // the same repository over SSH
	gitgate  *harness.Gitgate
	kubectl  *harness.Kubectl
	checkout string // the repository's first revision, on disk
	creds    string // directory of the credential and secret files
	receiver string // http://host:port/hook
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "gitsync", setup)) }

func setup(r *harness.Running) error {
	var err error
	if env.checkout, err = os.MkdirTemp("", "gitsync-repo-"); err != nil {
		return err
	}
	r.Cleanup(func() { _ = os.RemoveAll(env.checkout) })
	if env.creds, err = os.MkdirTemp("", "gitsync-creds-"); err != nil {
		return err
	}
	r.Cleanup(func() { _ = os.RemoveAll(env.creds) })
	if err := writeFiles(env.checkout, fixture); err != nil {
		return err
	}
	if err := writeFiles(env.creds, map[string]string{"username": user + "\n", "password": password + "\n", "receiver-secret": secret + "\n"}); err != nil {
		return err
	}
	if env.cp, env.kubectl, err = harness.StartTestControlPlane(r, harness.ControlPlaneOptions{}); err != nil {
		return err
	}
	if env.git, err = harness.StartGitServer(harness.GitServerOptions{Fixture: env.checkout, Username: user, Password: password}); err != nil {
		return err
	}
	r.Cleanup(env.git.Close)
	// One SSH server per process (gittestserver's key check is global),
	// so it starts here rather than in the test that uses it.
	if env.ssh, err = env.git.StartSSH(env.creds); err != nil {
		return err
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	env.receiver = "http://" + addr + "/hook"
	env.gitgate, err = harness.Admit(r, env.cp, harness.GitgateOptions{
		RepoURL: env.git.HTTPURL(),
		Args: []string{
			"--branch", "main",
			// Only push notifications move the revision in these tests.
			"--interval", "1h",
			"--path", "namespaces", "--path", "overlays/prod",
			"--git-username-file", filepath.Join(env.creds, "username"),
			"--git-password-file", filepath.Join(env.creds, "password"),
			// The test Git server speaks plain HTTP on loopback.
			"--git-insecure-http",
			"--receiver-bind-address", addr,
			"--receiver-secret-file", filepath.Join(env.creds, "receiver-secret"),
		},
	})
	return err
}

func writeFiles(dir string, files map[string]string) error {
	for p, c := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// fixture is the first revision: a namespace as a plain manifest, and an
// overlay using namePrefix, namespace, patches and configMapGenerator.
var fixture = map[string]string{
	"namespaces/prod.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n",
	"base/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
`,
	"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: registry.example.com/web:1.0.0
        envFrom:
        - configMapRef:
            name: web-config
`,
	"overlays/prod/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
namePrefix: prod-
resources:
- ../../base
- flags.yaml
patches:
- path: replicas.yaml
configMapGenerator:
- name: web-config
  literals:
  - MODE=production
`,
	"overlays/prod/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
	"overlays/prod/flags.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  color: blue\n",
}
