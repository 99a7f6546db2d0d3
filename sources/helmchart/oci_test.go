package helmchart_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmchart/charttest"
)

// ociRegistry runs go-containerregistry's in-process registry with the
// charts pushed as Helm pushes them (tag = version with "+" as "_"), and
// returns its host and each tag's manifest digest.
func ociRegistry(t testing.TB, charts map[string]string) (string, map[string]string) {
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	digests := map[string]string{}
	for tag, version := range charts {
		data, err := os.ReadFile(packageChart(t, dir, "podinfo", version))
		if err != nil {
			t.Fatal(err)
		}
		d, err := charttest.Push(host+"/charts/podinfo:"+tag, charttest.HelmConfig, charttest.HelmLayer, data)
		if err != nil {
			t.Fatal(err)
		}
		digests[tag] = d
	}
	return host, digests
}

// TestFromOCIRepository: a chartRef to an OCIRepository, pulled by
// gitgate, with helm-controller's digest suffix on the version.
func TestFromOCIRepository(t *testing.T) {
	host, digests := ociRegistry(t, map[string]string{"6.5.0": "6.5.0", "6.6.0": "6.6.0", "7.0.0_build.1": "7.0.0+build.1", "bad": "1.0.0"})
	f := &helmchart.Fetcher{}
	for _, tc := range []struct {
		name     string
		ref      *sourcev1.OCIRepositoryRef
		copy     bool
		revision string
		version  string
	}{
		{name: "tag", ref: &sourcev1.OCIRepositoryRef{Tag: "6.5.0"}, revision: "6.5.0@" + digests["6.5.0"], version: "6.5.0+" + hex12(digests["6.5.0"])},
		{name: "semver", ref: &sourcev1.OCIRepositoryRef{SemVer: "6.x"}, revision: "6.6.0@" + digests["6.6.0"], version: "6.6.0+" + hex12(digests["6.6.0"])},
		{name: "digest, copy", ref: &sourcev1.OCIRepositoryRef{Digest: digests["6.5.0"]}, copy: true, revision: digests["6.5.0"], version: "6.5.0+" + hex12(digests["6.5.0"])},
		{name: "helm tag with build metadata", ref: &sourcev1.OCIRepositoryRef{Tag: "7.0.0_build.1"}, revision: "7.0.0_build.1@" + digests["7.0.0_build.1"], version: "7.0.0+" + hex12(digests["7.0.0_build.1"])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			or := ociRepository(host, tc.ref, tc.copy)
			c, err := f.FromOCIRepository(context.Background(), or)
			if err != nil {
				t.Fatal(err)
			}
			if c.Revision != tc.revision || c.Chart.Metadata.Version != tc.version {
				t.Errorf("revision %s version %s, want %s %s", c.Revision, c.Chart.Metadata.Version, tc.revision, tc.version)
			}
			if c.OCIDigest != strings.TrimPrefix(tc.revision[strings.Index(tc.revision, "sha256:"):], "") {
				t.Errorf("OCIDigest = %s", c.OCIDigest)
			}
			if (c.Digest != "") != tc.copy {
				t.Errorf("digest = %q: known only for the copy operation", c.Digest)
			}
			if err := c.CheckArtifact(&meta.Artifact{Revision: tc.revision, Digest: c.Digest}); err != nil {
				t.Error(err)
			}
			if err := c.CheckArtifact(&meta.Artifact{Revision: "6.5.0@sha256:" + strings.Repeat("0", 64)}); !errors.Is(err, helmchart.ErrArtifactMismatch) {
				t.Errorf("CheckArtifact of another digest = %v", err)
			}
		})
	}
	t.Run("tag that is not the chart's version", func(t *testing.T) {
		_, err := f.FromOCIRepository(context.Background(), ociRepository(host, &sourcev1.OCIRepositoryRef{Tag: "6.6.0"}, false))
		if err != nil {
			t.Fatal(err)
		}
		host2, _ := ociRegistry(t, map[string]string{"2.0.0": "1.0.0"})
		if _, err := f.FromOCIRepository(context.Background(), ociRepository(host2, &sourcev1.OCIRepositoryRef{Tag: "2.0.0"}, false)); err == nil || !strings.Contains(err.Error(), "does not match chart version") {
			t.Fatalf("err = %v, want helm-controller's version check", err)
		}
	})
	t.Run("plain HTTP without insecure", func(t *testing.T) {
		or := ociRepository(host, &sourcev1.OCIRepositoryRef{Tag: "6.5.0"}, false)
		or.Spec.Insecure = false
		if _, err := f.FromOCIRepository(context.Background(), or); !errors.Is(err, helmchart.ErrUnsupported) {
			t.Fatalf("err = %v, want plain HTTP refused", err)
		}
	})
}

// TestFromOCIHelmRepository: a HelmRepository of type oci, the version
// resolved over the registry's tags.
func TestFromOCIHelmRepository(t *testing.T) {
	host, _ := ociRegistry(t, map[string]string{"6.5.0": "6.5.0", "6.6.0": "6.6.0", "7.0.0-rc.1": "7.0.0-rc.1"})
	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "podinfo"},
		Spec: sourcev1.HelmRepositorySpec{URL: "oci://" + host + "/charts", Type: sourcev1.HelmRepositoryTypeOCI, Insecure: true}}
	f := &helmchart.Fetcher{}
	for version, want := range map[string]string{"": "6.6.0", "6.5.x": "6.5.0", "6.5.0": "6.5.0"} {
		c, err := f.FromHelmRepository(context.Background(), hr, sourcev1.HelmChartSpec{Chart: "podinfo", Version: version}, 1)
		if err != nil {
			t.Fatalf("%q: %v", version, err)
		}
		if c.Revision != want || c.Chart.Metadata.Version != want || c.Digest == "" {
			t.Errorf("%q: revision %s version %s digest %q, want %s", version, c.Revision, c.Chart.Metadata.Version, c.Digest, want)
		}
	}
}

func ociRepository(host string, ref *sourcev1.OCIRepositoryRef, copyLayer bool) *sourcev1.OCIRepository {
	or := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "podinfo"},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://" + host + "/charts/podinfo", Reference: ref, Insecure: true}}
	if copyLayer {
		or.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: charttest.HelmLayer, Operation: sourcev1.OCILayerCopy}
	}
	return or
}

func hex12(digest string) string { return strings.TrimPrefix(digest, "sha256:")[:12] }
