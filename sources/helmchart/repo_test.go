package helmchart_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmchart/charttest"
)

// packageChart writes a chart archive as `helm package` does.
func packageChart(t testing.TB, dir, name, version string) string {
	t.Helper()
	p, err := charttest.Package(dir, map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: " + version + "\n",
		"values.yaml":       "replicaCount: 1\n",
		"values-prod.yaml":  "replicaCount: 3\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func digestOf(t testing.TB, p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func secrets(t testing.TB, objs ...client.Object) client.Reader {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

// repoServer serves a Helm repository built with Helm's repo package
// behind basic auth, and counts requests by path.
func repoServer(t testing.TB) (*httptest.Server, map[string]string) {
	dir := t.TempDir()
	paths := map[string]string{}
	for _, v := range []string{"6.4.0", "6.5.0", "6.6.0-rc.1", "7.0.0"} {
		paths[v] = packageChart(t, dir, "podinfo", v)
	}
	if err := charttest.WriteIndex(dir, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(charttest.Repository(dir, "/charts/", "flux", "s3cret"))
	t.Cleanup(srv.Close)
	return srv, paths
}

// TestFromHelmRepository: a chart from an HTTP repository's index, with
// the repository's credentials, as source-controller selects and stores
// it, checked against the HelmChart's artifact.
func TestFromHelmRepository(t *testing.T) {
	srv, paths := repoServer(t)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "podinfo-auth"},
		Data: map[string][]byte{"username": []byte("flux"), "password": []byte("s3cret")}}
	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "podinfo"},
		Spec: sourcev1.HelmRepositorySpec{URL: srv.URL + "/charts", SecretRef: &meta.LocalObjectReference{Name: "podinfo-auth"}}}
	f := &helmchart.Fetcher{Reader: secrets(t, creds)}
	for _, tc := range []struct {
		name, version, want, digestOf string
		valuesFiles                   []string
	}{
		{name: "latest stable", version: "*", want: "7.0.0", digestOf: "7.0.0"},
		{name: "empty is latest stable", want: "7.0.0", digestOf: "7.0.0"},
		{name: "constraint", version: "6.x", want: "6.5.0", digestOf: "6.5.0"},
		{name: "exact pre-release", version: "6.6.0-rc.1", want: "6.6.0-rc.1", digestOf: "6.6.0-rc.1"},
		{name: "values files", version: "6.4.0", valuesFiles: []string{"values.yaml", "values-prod.yaml"}, want: "6.4.0+3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := sourcev1.HelmChartSpec{Chart: "podinfo", Version: tc.version, ValuesFiles: tc.valuesFiles}
			c, err := f.FromHelmRepository(context.Background(), hr, spec, 3)
			if err != nil {
				t.Fatal(err)
			}
			if c.Revision != tc.want || c.Chart.Metadata.Version != tc.want {
				t.Errorf("revision %s, chart version %s, want %s", c.Revision, c.Chart.Metadata.Version, tc.want)
			}
			want := ""
			if tc.digestOf != "" {
				want = digestOf(t, paths[tc.digestOf])
			}
			if c.Digest != want {
				t.Errorf("digest = %q, want %q", c.Digest, want)
			}
			if err := c.CheckArtifact(&meta.Artifact{Revision: tc.want, Digest: want}); err != nil {
				t.Errorf("CheckArtifact of the same artifact: %v", err)
			}
			if err := c.CheckArtifact(&meta.Artifact{Revision: "6.3.0", Digest: want}); !errors.Is(err, helmchart.ErrArtifactMismatch) {
				t.Errorf("CheckArtifact of another revision = %v", err)
			}
			if tc.valuesFiles != nil && c.Chart.Values["replicaCount"] != float64(3) {
				t.Errorf("values = %v, want values-prod.yaml merged", c.Chart.Values)
			}
		})
	}
	t.Run("digest mismatch", func(t *testing.T) {
		c, err := f.FromHelmRepository(context.Background(), hr, sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.5.0"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckArtifact(&meta.Artifact{Revision: "6.5.0", Digest: "sha256:00"}); !errors.Is(err, helmchart.ErrArtifactMismatch) {
			t.Errorf("CheckArtifact = %v, want ErrArtifactMismatch", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		anon := hr.DeepCopy()
		anon.Spec.SecretRef = nil
		_, err := f.FromHelmRepository(context.Background(), anon, sourcev1.HelmChartSpec{Chart: "podinfo"}, 1)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want the server's 401", err)
		}
	})
}
