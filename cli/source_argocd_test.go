package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// argoFleet is a repository holding Applications (argocd/) and what one
// of them syncs (apps/web); far syncs to another cluster.
func argoFleet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"argocd", "apps/web"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "argocd", "apps.yaml"), `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  source: {repoURL: https://git.example.com/fleet.git, path: apps/web, targetRevision: main}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: far, namespace: argocd}
spec:
  destination: {name: prod-eu, namespace: shop}
  source: {repoURL: https://git.example.com/fleet.git, path: apps/web}
`)
	writeFile(t, filepath.Join(dir, "apps", "web", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {greeting: hello}\n")
	return dir
}

// TestArgoCDClientCommands: render prints an Application's render with
// Argo CD's tracking and notes the Application of another cluster; check
// refuses a person's edit naming the Application; a missing --local is a
// usage error.
func TestArgoCDClientCommands(t *testing.T) {
	dir := argoFleet(t)
	args := []string{"--source", "argocd", "--local", dir, "--path", "argocd", "--local-repo-url", "https://git.example.com/fleet"}
	code, stdout, stderr := runCLI(t, "", append([]string{"render"}, args...)...)
	if code != 0 {
		t.Fatalf("render: exit code %d; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{"# ConfigMap shop/settings from apps/web/cm.yaml", "argocd.argoproj.io/tracking-id: web:/ConfigMap:shop/settings"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("render output lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "Application argocd/far skipped") {
		t.Errorf("stderr lacks the skipped Application:\n%s", stderr)
	}
	live := filepath.Join(t.TempDir(), "live.yaml")
	writeFile(t, live, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop, annotations: {argocd.argoproj.io/tracking-id: 'web:/ConfigMap:shop/settings'}}\ndata: {greeting: hello}\n")
	edited := strings.Replace(mustRead(t, live), "greeting: hello", "greeting: hi", 1)
	code, stdout, _ = runCLI(t, edited, append([]string{"check", "-f", "-", "--old", live, "--operation", "update", "--as", "alice"}, args...)...)
	if code != 1 || !strings.Contains(stdout, "in Application argocd/web at") || !strings.Contains(stdout, `data.greeting: Git has "hello"`) {
		t.Errorf("check: exit code %d, output:\n%s\nwant a denial naming Application argocd/web", code, stdout)
	}
	if code, _, stderr = runCLI(t, "", "render", "--source", "argocd"); code != 2 || !strings.Contains(stderr, "--source argocd needs --local") {
		t.Errorf("render --source argocd without --local: exit code %d, stderr:\n%s", code, stderr)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
