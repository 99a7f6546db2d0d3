package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fluxDir writes a directory Flux would apply: a top path declaring the
// Kustomization of apps, which declares a HelmRelease of a chart in the
// directory and one whose HelmRepository nobody declares.
func fluxDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"clusters/prod/apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"apps/releases.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: shop}
spec:
  interval: 10m
  chart: {spec: {chart: ./charts/web, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: lost, namespace: shop}
spec:
  interval: 10m
  chart: {spec: {chart: web, sourceRef: {kind: HelmRepository, name: nowhere}}}
`,
		"charts/web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/values.yaml": "password: \"\"\n",
		"charts/web/templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data:
  token: {{ randAlphaNum 8 | quote }}
  revision: "{{ .Release.Revision }}"
`,
		"charts/web/templates/job.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: web-migrate, annotations: {"helm.sh/hook": pre-install}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}
`,
	}
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRenderSourceFlux prints each root under its header, a HelmRelease's
// hooks apart and its indeterminate fields noted; the root that fails
// prints its error and the command exits 1 after the others.
func TestRenderSourceFlux(t *testing.T) {
	dir := fluxDir(t)
	code, stdout, stderr := runCLI(t, "", "render", "--source", "flux", "--local", dir, "--path", "clusters/prod")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a root failed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"# root path clusters/prod (rendered as Kustomization flux-system/flux-system would render it, from GitRepository flux-system/flux-system)\n",
		"# root Kustomization flux-system/apps (from GitRepository flux-system/flux-system, declared by path clusters/prod)\n",
		"# root HelmRelease shop/web (from GitRepository flux-system/flux-system, declared by Kustomization flux-system/apps)\n# chart web version 0.1.0, config digest sha256:",
		"# release shop/web, revision 1: rendered as a fresh install",
		"---\n# ConfigMap shop/web from web/templates/cm.yaml\n# indeterminate (the chart renders them differently every time; any value is the agent's): /data/token\n",
		"  revision: \"1\"\n",
		"# 1 hooks of HelmRelease shop/web: transient, not declared",
		"---\n# hook Job.batch shop/web-migrate from web/templates/job.yaml\n",
		"# root HelmRelease shop/lost (from HelmRepository shop/nowhere, declared by Kustomization flux-system/apps)\n# FAILED: HelmRepository shop/nowhere: declared by no rendered root\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "Error: gitgate render: HelmRelease shop/lost: HelmRepository shop/nowhere: declared by no rendered root") {
		t.Errorf("stderr lacks the failed root:\n%s", stderr)
	}
}

// TestCheckSourceFlux: check holds a HelmRelease's objects to its render,
// leaves its indeterminate fields free, names the HelmRelease in a
// denial, and fails when a root failed whatever its verdicts.
func TestCheckSourceFlux(t *testing.T) {
	dir := fluxDir(t)
	cm := func(token, revision string) string {
		p := filepath.Join(t.TempDir(), "cm.yaml")
		body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app.kubernetes.io/managed-by: Helm, helm.toolkit.fluxcd.io/name: web, helm.toolkit.fluxcd.io/namespace: shop}\n" +
			"  annotations: {meta.helm.sh/release-name: web, meta.helm.sh/release-namespace: shop}\ndata: {token: " + token + ", revision: \"" + revision + "\"}\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := cm("aaaa", "1")
	args := []string{"check", "--source", "flux", "--local", dir, "--path", "clusters/prod", "--as", "alice", "--operation", "update", "--old", old}
	code, stdout, stderr := runCLI(t, "", append(args, "-f", cm("bbbb", "1"))...)
	if code != 1 || !strings.Contains(stdout, "allowed UPDATE ConfigMap shop/web") || !strings.Contains(stderr, "HelmRelease shop/lost") {
		t.Errorf("a new token: exit %d, want 1 for the failed root with the update allowed\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "", append(args, "-f", cm("aaaa", "2"))...)
	if code != 1 || !strings.Contains(stdout, "denied UPDATE ConfigMap shop/web") || !strings.Contains(stdout, "HelmRelease shop/web of GitRepository flux-system/flux-system") {
		t.Errorf("another revision: exit %d, want a denial naming the HelmRelease\n%s", code, stdout)
	}
}
