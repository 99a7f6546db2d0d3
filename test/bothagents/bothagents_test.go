package bothagents

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// TestReadyOnlyOnceBothDriversLoaded: setup started gitgate while Argo CD's
// repository was out of reach. The Kustomization's root loaded, and still
// /readyz refused: one driver's roots do not make gitgate ready while the
// other's have not loaded. Once the repository came back, the
// Application's root loaded and gitgate became ready.
func TestReadyOnlyOnceBothDriversLoaded(t *testing.T) {
	s := env.startup
	if !s.fluxLoaded {
		t.Fatal("the Kustomization's root never loaded while Argo CD's repository was out of reach")
	}
	if s.argoLoaded {
		t.Errorf("the Application's root loaded while its repository was out of reach: the test proves nothing")
	}
	if s.readyEarly {
		t.Errorf("/readyz answered 200 before the Application's root loaded: %v", s.readyCodes)
	}
	for _, c := range s.readyCodes {
		if c != http.StatusInternalServerError {
			t.Errorf("/readyz answered %d (want 500) before the Application's root loaded: %v", c, s.readyCodes)
			break
		}
	}
	if !s.argoLoadedWhenReady {
		t.Errorf("gitgate became ready, but never logged %s loaded", argoRoot)
	}
	t.Logf("/readyz while only %s had loaded: %v", fluxRoot, s.readyCodes)
}

// TestBothAgentsSyncThroughGitgate: behind one gitgate, Flux applied its
// Kustomization and Argo CD synced its Application at the same commit, each
// as its own service account, which the shipped matchConditions keep
// away from gitgate; what each applied carries its agent's marks.
func TestBothAgentsSyncThroughGitgate(t *testing.T) {
	// Ready turns Unknown for the moment of each 2s reconcile: wait for it.
	if err := env.flux.WaitApplied(fluxApps, env.head, syncTimeout); err != nil {
		t.Errorf("Kustomization %s: %v, want Ready at %s", fluxApps, err, env.head)
	}
	if err := env.argocd.WaitSynced(argoApp.Name, env.head, syncTimeout); err != nil {
		t.Errorf("Application %s: %v, want Synced and Healthy at %s", argoApp.Name, err, env.head)
	}
	for _, d := range []declared{fluxSettings, argoSettings} {
		if got := d.greeting(t); got != "hello" {
			t.Errorf("%s/%s greeting = %q, want hello", d.ns, d.name, got)
		}
	}
	if got := get(t, fluxNS, "configmap/flux-settings", `{.metadata.labels.kustomize\.toolkit\.fluxcd\.io/name}`); got != fluxApps {
		t.Errorf("flux-settings: Flux's owner label = %q, want %s", got, fluxApps)
	}
	if got := get(t, argoNS, "configmap/argo-settings", `{.metadata.annotations.argocd\.argoproj\.io/tracking-id}`); got == "" {
		t.Error("argo-settings carries no argocd.argoproj.io/tracking-id: Argo CD did not apply it")
	}
	m, err := env.gitgate.Metrics()
	if err != nil || strings.Contains(m, `class="agent"`) {
		t.Errorf("gitgate was called for an agent's request (metrics error %v)", err)
	}
}

// TestPersonEditIsRefusedNamingItsRoot: a person's edit of what either
// agent applied is refused naming the Kustomization or the Application
// that declares it, and an identical re-apply of each passes.
func TestPersonEditIsRefusedNamingItsRoot(t *testing.T) {
	for _, d := range []declared{fluxSettings, argoSettings} {
		t.Run(d.name, func(t *testing.T) {
			r := d.patch("hi", person)
			harness.WantDenied(t, r, d.root, "data.greeting: Git has")
			t.Logf("%s", strings.TrimSpace(r.Stderr))
			if got := d.greeting(t); got != "hello" {
				t.Errorf("greeting = %q after a refused edit", got)
			}
			wantAllowed(t, env.kubectl.Run(d.manifest(t, "hello"), "apply", "-f", "-", "--as", person))
		})
	}
}

// TestNewCommitIsSyncedByBoth: a commit that changes one object of each
// root is applied by each agent through gitgate, and gitgate then holds
// people to the new values.
func TestNewCommitIsSyncedByBoth(t *testing.T) {
	sha := env.git.MustCommit(t, harness.Change{Message: "greet anew", Write: map[string]string{
		"flux/settings.yaml": strings.Replace(fixture(t, "flux/settings.yaml"), "greeting: hello", "greeting: hello-v2", 1),
		"argo/settings.yaml": strings.Replace(fixture(t, "argo/settings.yaml"), "greeting: hello", "greeting: hello-v2", 1),
	}})
	waitBothApplied(t, sha)
	for _, d := range []declared{fluxSettings, argoSettings} {
		t.Run(d.name, func(t *testing.T) {
			if got := d.greeting(t); got != "hello-v2" {
				t.Fatalf("greeting = %q after the agent synced %s, want hello-v2", got, sha)
			}
			// gitgate follows the commit on its own: wait until it allows
			// the new value (refused while it holds the old one).
			eventually(t, "gitgate enforces "+sha, func() (bool, string) {
				r := env.kubectl.Run(d.manifest(t, "hello-v2"), "apply", "-f", "-", "--as", person)
				return !r.Failed(), r.Stderr
			})
			harness.WantDenied(t, d.patch("hello", person), d.root, sha)
		})
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fleet", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
