package helm

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/chartutil"
	"github.com/opencontainers/go-digest"

	"github.com/gitgate/gitgate/test/harness"
)

// renderedObjectRefusal is what gitgate says today when a person edits an
// object a HelmRelease rendered: it reads no HelmRelease yet (issue 23), so
// nothing in Git declares the object. Once HelmReleases are declared state,
// the refusal names the HelmRelease instead: change this list, and the
// test below checks the new words for every release.
var renderedObjectRefusal = []string{"Git does not declare this object"}

// installed waits until helm-controller has installed r and returns the
// HelmRelease's status.
func installed(t *testing.T, r release) harness.FluxStatus {
	t.Helper()
	st, err := env.flux.WaitFluxReady("helmrelease", shop, r.name, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHelmReleasesInstallFromEachSource: the real source-controller
// fetches each chart (Helm repository over HTTP, OCI registry, Git), the
// real helm-controller installs it as its own service account through
// gitgate's webhook configuration, and the release it records is the
// chart and values Git declares.
func TestHelmReleasesInstallFromEachSource(t *testing.T) {
	for _, r := range env.releases {
		t.Run(r.name, func(t *testing.T) {
			st := installed(t, r)
			if len(st.History) == 0 {
				t.Fatal("ready, but status.history is empty")
			}
			h := st.History[0]
			want := chartutil.DigestValues(digest.Canonical, r.values).String()
			if h.ChartName != r.chart || h.ChartVersion != r.version || h.Status != "deployed" || h.Version != 1 || h.ConfigDigest != want {
				t.Errorf("history[0] = %+v, want chart %s %s deployed as version 1 with config digest %s", h, r.chart, r.version, want)
			}
			src, err := env.flux.WaitFluxReady(r.sourceKind, harness.FluxNamespace, r.sourceName, time.Minute)
			if err != nil {
				t.Errorf("chart source: %v", err)
			}
			if r.sourceKind == "helmchart" && src.Revision != r.version {
				t.Errorf("HelmChart %s has revision %q, want %s", r.sourceName, src.Revision, r.version)
			}
			if res := env.kubectl.Run("", "get", "deployment", r.deployment, "-n", shop); res.Failed() {
				t.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
			}
		})
	}
	// The charts came from the loopback servers, not from a cache.
	if reqs := env.repo.Requests(); !slices.Contains(reqs, "GET /index.yaml") || !slices.Contains(reqs, "GET /podinfo-6.9.2.tgz") {
		t.Errorf("the Helm repository served %v, want index.yaml and podinfo-6.9.2.tgz", reqs)
	}
	if reqs := env.oci.Requests(); !slices.Contains(reqs, "GET /v2/charts/shopfront/manifests/0.1.0") {
		t.Errorf("the OCI registry served %v, want shopfront's 0.1.0 manifest", reqs)
	}
}

// TestShopfrontRendersAsHelmDoes: what helm-controller installed from the
// OCI chart carries each part of it a renderer must reproduce: the CRD
// from crds/ and a resource of it, the pre-install hook, the random token,
// the greeting from valuesFrom's targetPath, the post-renderer's patch and
// commonMetadata's label.
func TestShopfrontRendersAsHelmDoes(t *testing.T) {
	installed(t, env.releases[1])
	var dep struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Env []struct{ Name, Value string } `json:"env"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	getJSON(t, &dep, "deployment", "shopfront", "-n", shop)
	if dep.Metadata.Labels["team"] != "shop" || dep.Metadata.Annotations["shop.example.com/post-rendered"] != "true" {
		t.Errorf("Deployment shopfront: labels %v, annotations %v; want commonMetadata's team=shop and the post-renderer's annotation",
			dep.Metadata.Labels, dep.Metadata.Annotations)
	}
	if env := dep.Spec.Template.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "hola" {
		t.Errorf("Deployment shopfront env %v, want GREETING=hola from valuesFrom", env)
	}
	for _, obj := range [][]string{
		{"crd", "widgets.shop.example.com"},
		{"widget.shop.example.com", "shopfront", "-n", shop},
		{"configmap", "shopfront-migration", "-n", shop},
	} {
		if res := env.kubectl.Run("", append([]string{"get"}, obj...)...); res.Failed() {
			t.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
		}
	}
	var secret struct {
		Data map[string]string `json:"data"`
	}
	getJSON(t, &secret, "secret", "shopfront-session", "-n", shop)
	if token, err := base64.StdEncoding.DecodeString(secret.Data["token"]); err != nil || len(token) != 24 {
		t.Errorf("Secret shopfront-session token: %d bytes (%v), want randAlphaNum's 24", len(token), err)
	}
}

// TestPersonEditOfRenderedDeploymentRefused: a person's edit of what a
// HelmRelease rendered is refused, as gitgate says today
// (renderedObjectRefusal).
func TestPersonEditOfRenderedDeploymentRefused(t *testing.T) {
	for _, r := range env.releases {
		t.Run(r.name, func(t *testing.T) {
			installed(t, r)
			res := env.kubectl.Run("", "patch", "deployment", r.deployment, "-n", shop, "--type", "merge",
				"-p", `{"spec":{"replicas":5}}`, "--as", person)
			harness.WantDenied(t, res, renderedObjectRefusal...)
		})
	}
}

func getJSON(t *testing.T, into any, args ...string) {
	t.Helper()
	res := env.kubectl.Run("", append([]string{"get", "-o", "json"}, args...)...)
	if res.Failed() {
		t.Fatalf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
	}
	if err := json.Unmarshal([]byte(res.Stdout), into); err != nil {
		t.Fatal(err)
	}
}
