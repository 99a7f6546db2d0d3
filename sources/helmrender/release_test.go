package helmrender_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/sources/helmrender"
)

// TestReleaseName: helm-controller's own examples
// (internal/release/name_test.go of v1.6.3) and the name composition.
func TestReleaseName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"release-name", "release-name"},
		{"release-name-with-very-long-name-which-is-longer-than-53-characters", "release-name-with-very-long-name-which-i-788ca0d0d7b0"},
		{"another-release-name-with-very-long-name-which-is-longer-than-53-characters", "another-release-name-with-very-long-name-7e72150d5a36"},
		{"", ""},
		{strings.Repeat("a", 53), strings.Repeat("a", 53)},
	} {
		if got := helmrender.ShortenName(tc.name); got != tc.want || len(got) > 53 {
			t.Errorf("ShortenName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"spec: {interval: 1m}", "podinfo"},
		{"spec: {interval: 1m, targetNamespace: web}", "web-podinfo"},
		{"spec: {interval: 1m, targetNamespace: web, releaseName: mine}", "mine"},
		{"spec: {interval: 1m, targetNamespace: a-namespace-name-that-is-long-enough-to-overflow}", "a-namespace-name-that-is-long-enough-to--" + helmrender.ShortenName("a-namespace-name-that-is-long-enough-to-overflow-podinfo")[41:]},
	} {
		if got := helmrender.ReleaseName(release(t, tc.spec)); got != tc.want {
			t.Errorf("ReleaseName(%s) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// TestTargets: the revision and action of the deployed release and of the
// agent's next one, from status.history.
func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		next         helmrender.Target
		deployed     helmrender.Target
		ok           bool
	}{
		{name: "no history", status: "{}", next: helmrender.Target{Revision: 1}},
		{name: "installed", status: `{history: [{name: podinfo, namespace: apps, version: 1, status: deployed, action: install, chartName: podinfo, chartVersion: 6.5.0, configDigest: x, digest: y, firstDeployed: null, lastDeployed: null}]}`,
			next: helmrender.Target{Revision: 2, Upgrade: true}, deployed: helmrender.Target{Revision: 1}, ok: true},
		{name: "upgraded", status: `{history: [{version: 3, status: deployed, action: upgrade, name: p, namespace: a, chartName: c, chartVersion: v, configDigest: x, digest: y, firstDeployed: null, lastDeployed: null}, {version: 2, status: superseded, name: p, namespace: a, chartName: c, chartVersion: v, configDigest: x, digest: y, firstDeployed: null, lastDeployed: null}]}`,
			next: helmrender.Target{Revision: 4, Upgrade: true}, deployed: helmrender.Target{Revision: 3, Upgrade: true}, ok: true},
		{name: "failed upgrade", status: `{history: [{version: 4, status: failed, action: upgrade, name: p, namespace: a, chartName: c, chartVersion: v, configDigest: x, digest: y, firstDeployed: null, lastDeployed: null}]}`,
			next: helmrender.Target{Revision: 5, Upgrade: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := release(t, "spec: {interval: 1m}\nstatus: "+tc.status)
			if got := helmrender.Next(hr); got != tc.next {
				t.Errorf("Next = %+v, want %+v", got, tc.next)
			}
			if got, ok := helmrender.Deployed(hr); got != tc.deployed || ok != tc.ok {
				t.Errorf("Deployed = %+v %v, want %+v %v", got, ok, tc.deployed, tc.ok)
			}
		})
	}
}

// TestCheck: the cross-check with status.history[0] and the observed
// post-render digests.
func TestCheck(t *testing.T) {
	spec := `
spec:
  interval: 1m
  values: {replicaCount: 2}
  commonMetadata: {labels: {team: web}}
`
	res := renderOf(t, release(t, spec), chartOf(t, podinfo), helmrender.Target{})
	// What helm-controller records for this spec: computed outside this
	// repository by helm-controller v1.6.3's CommonMetadataDigest logic
	// (json.Encoder over its api/v2 CommonMetadata into go-digest's
	// Canonical digester).
	const cmDigest = "sha256:ab5afb4cbc701a3e0ddbf197fa95ad2bd475793ee15a88c8a8f3a29045ba20ef"
	history := func(version, digest string) string {
		return `
status:
  observedCommonMetadataDigest: ` + cmDigest + `
  history:
  - {name: podinfo, namespace: apps, version: 1, status: deployed, action: install, chartName: podinfo,
     chartVersion: "` + version + `", configDigest: "` + digest + `", digest: d, firstDeployed: null, lastDeployed: null}
`
	}
	for _, tc := range []struct {
		name, status string
		want         error
	}{
		{name: "same", status: history("6.5.0", res.ConfigDigest)},
		{name: "other values", status: history("6.5.0", "sha256:00"), want: helmrender.ErrReleaseMismatch},
		{name: "other chart version", status: history("6.4.0", res.ConfigDigest), want: helmrender.ErrReleaseMismatch},
		{name: "common metadata not applied yet", status: strings.Replace(history("6.5.0", res.ConfigDigest), cmDigest, "sha256:11", 1), want: helmrender.ErrReleaseMismatch},
		{name: "no release", status: "status: {}", want: helmrender.ErrNotDeployed},
		{name: "failed release", status: strings.Replace(history("6.5.0", res.ConfigDigest), "deployed", "failed", 1), want: helmrender.ErrNotDeployed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := res.Check(release(t, spec+tc.status))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}
