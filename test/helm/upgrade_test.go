package helm

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/chartutil"
	"github.com/opencontainers/go-digest"

	"github.com/gitgate/gitgate/test/harness"
)

// TestHelmControllerUpgradeAllowedThenEnforced: a values change in Git
// (podinfo's replicaCount) reaches the HelmRelease; helm-controller's
// upgrade of what gitgate enforces passes (it is the agent), and once it
// has recorded the release, gitgate enforces the new values: a person's
// write of the old value is refused with the new one. It runs last: it
// changes podinfo's release.
func TestHelmControllerUpgradeAllowedThenEnforced(t *testing.T) {
	for _, r := range env.releases {
		enforced(t, r)
	}
	r := &env.releases[0]
	r.values = map[string]any{"replicaCount": 3}
	r.spec = strings.Replace(r.spec, "replicaCount: 2", "replicaCount: 3", 1)
	head, err := env.git.Commit(harness.Change{Write: map[string]string{"apps/helm.yaml": helmYAML(env.releases)}, Message: "podinfo: three replicas"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.flux.WaitApplied(fleet, head, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	want := chartutil.DigestValues(digest.Canonical, r.values).String()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := env.flux.FluxStatus("helmrelease", shop, r.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.History) > 0 && st.History[0].Version == 2 && st.History[0].Status == "deployed" && st.History[0].ConfigDigest == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("helm-controller did not release the new values: %+v\n%s", st, env.flux.Logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
	var dep struct {
		Spec struct {
			Replicas int `json:"replicas"`
		} `json:"spec"`
	}
	getJSON(t, &dep, "deployment", r.deployment, "-n", shop)
	if dep.Spec.Replicas != 3 {
		t.Fatalf("helm-controller's upgrade left %d replicas, want 3", dep.Spec.Replicas)
	}
	_, l := enforced(t, *r)
	if l.Version != 2 || l.ConfigDigest != want {
		t.Errorf("gitgate enforces %+v, want release 2 with %s", l, want)
	}
	res := env.kubectl.Run("", "patch", "deployment", r.deployment, "-n", shop, "--type", "merge", "-p", `{"spec":{"replicas":2}}`, "--as", person)
	harness.WantDenied(t, res, "HelmRelease shop/"+r.name, "spec.replicas: Git has 3, request has 2")
}
