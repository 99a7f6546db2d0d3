package fluxsync

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/sources/helmchart/charttest"
)

// fluxLayer is the media type `flux push artifact` gives its layer.
const fluxLayer = "application/vnd.cncf.flux.content.v1.tar+gzip"

// startRegistry runs go-containerregistry's in-process registry and
// returns its host.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushArtifact pushes files as `flux push artifact` does (one tar+gzip
// layer) to host/manifests:tag and returns the manifest digest.
func pushArtifact(t *testing.T, host, tag string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for p, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := charttest.Push(host+"/manifests:"+tag, "application/vnd.cncf.flux.config.v1+json", fluxLayer, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ociRepository follows tag of host/manifests over plain HTTP, with the
// artifact source-controller reports at revision.
func ociRepository(name, host, tag, revision string) *sourcev1.OCIRepository {
	return &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://" + host + "/manifests", Insecure: true,
			Interval: metav1.Duration{Duration: time.Nanosecond}, Reference: &sourcev1.OCIRepositoryRef{Tag: tag}},
		Status: sourcev1.OCIRepositoryStatus{Artifact: &meta.Artifact{Revision: revision, Digest: "sha256:source-controller-archived"}}}
}

func fromOCI(ks *kustomizev1.Kustomization) { ks.Spec.SourceRef.Kind = sourcev1.OCIRepositoryKind }

// TestKustomizationFromOCIRepository: a Kustomization of an
// OCIRepository is rendered from the artifact gitgate pulled itself, at
// the revision source-controller reports; a tag moved to a new digest
// fails the root, which keeps its last good render, until
// source-controller's artifact agrees, and then renders it again, once.
func TestKustomizationFromOCIRepository(t *testing.T) {
	host := startRegistry(t)
	d1 := pushArtifact(t, host, "v1", map[string]string{"infra/cm.yaml": configMap("dns", "infra", "1")})
	or := ociRepository("manifests", host, "v1", "v1@"+d1)
	logs := &logLines{}
	w, c := newWatcher(t, logs, or, kustomization("infra", "./infra", "manifests", fromOCI))
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Composer.Ready(); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(logs.lines, "\n"))
	}
	root := w.roots[client.ObjectKey{Namespace: ns, Name: "infra"}].Root
	if root.Source != "OCIRepository flux-system/manifests" || root.URL != "oci://"+host+"/manifests" {
		t.Errorf("root %+v", root)
	}
	if st := w.Composer.Store.Load().State(root); st == nil || st.Revision.String() != "v1@"+d1 {
		t.Fatalf("root state %+v", st)
	}
	if e := lookup(w, "infra", "dns"); e == nil || e.Object()["data"].(map[string]any)["v"] != "1" {
		t.Fatalf("dns entry %+v", e)
	}
	renders := w.renders
	if err := w.SyncOnce(ctx); err != nil || w.renders != renders {
		t.Fatalf("the same digest rendered again: %v, renders %d→%d", err, renders, w.renders)
	}

	d2 := pushArtifact(t, host, "v1", map[string]string{"infra/cm.yaml": configMap("dns", "infra", "2")})
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if e := lookup(w, "infra", "dns"); e == nil || e.Object()["data"].(map[string]any)["v"] != "1" {
		t.Errorf("a digest source-controller has not stored replaced the last good render: %+v", e)
	}
	if !logs.find("root failed", "Kustomization flux-system/infra", "differs from what gitgate fetched", d2) {
		t.Errorf("no failure names the mismatch:\n%s", strings.Join(logs.lines, "\n"))
	}

	or.Status.Artifact.Revision = "v1@" + d2
	if err := c.Update(ctx, or); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if e := lookup(w, "infra", "dns"); e == nil || e.Object()["data"].(map[string]any)["v"] != "2" {
		t.Errorf("the moved tag was not rendered: %+v", e)
	}
	if w.renders != renders+1 {
		t.Errorf("renders %d, want %d", w.renders, renders+1)
	}
}

// TestOCIRepositoryFailsItsRootsAlone: an OCIRepository whose artifact
// gitgate cannot take fails only the Kustomizations of it.
func TestOCIRepositoryFailsItsRootsAlone(t *testing.T) {
	g := startGit(t, fixture)
	host := startRegistry(t)
	d1 := pushArtifact(t, host, "v1", map[string]string{"infra/cm.yaml": configMap("dns", "infra", "1")})
	for _, tc := range []struct {
		name string
		edit func(*sourcev1.OCIRepository)
		want string
	}{
		{name: "artifact of another digest", edit: func(or *sourcev1.OCIRepository) { or.Status.Artifact.Revision = "v1@sha256:" + strings.Repeat("0", 64) }, want: "differs from what gitgate fetched"},
		{name: "no artifact yet", edit: func(or *sourcev1.OCIRepository) { or.Status.Artifact = nil }, want: "no artifact"},
		{name: "copy with another layer digest", edit: func(or *sourcev1.OCIRepository) {
			or.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: fluxLayer, Operation: sourcev1.OCILayerCopy}
		}, want: `digest "sha256:source-controller-archived"`},
		{name: "verify", edit: func(or *sourcev1.OCIRepository) {
			or.Spec.Verify = &sourcev1.OCIRepositoryVerification{Provider: "cosign"}
		}, want: "verify is not supported yet"},
		{name: "plain HTTP without insecure", edit: func(or *sourcev1.OCIRepository) { or.Spec.Insecure = false }, want: "plain HTTP"},
		{name: "missing OCIRepository", edit: func(or *sourcev1.OCIRepository) { or.Name = "elsewhere" }, want: "OCIRepository flux-system/manifests: source not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			or := ociRepository("manifests", host, "v1", "v1@"+d1)
			tc.edit(or)
			logs := &logLines{}
			w, _ := newWatcher(t, logs, authSecret(), gitRepository("fleet", g.HTTPURL(), authName), kustomization("apps", "apps", "fleet"),
				or, kustomization("bad", "infra", "manifests", fromOCI))
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if lookup(w, "apps", "web") == nil {
				t.Error("the Kustomization of the GitRepository did not load")
			}
			if lookup(w, "infra", "dns") != nil {
				t.Error("the failed root declares objects")
			}
			if err := w.Composer.Ready(); err == nil || !strings.Contains(err.Error(), "Kustomization flux-system/bad") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ready = %v, want it to name the root and %q", err, tc.want)
			}
		})
	}
}

// TestUntarGz: regular files only, a path out of the root refused.
func TestUntarGz(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tar.Header
		want    []string
		err     string
	}{
		{name: "files and a symlink", entries: []tar.Header{{Name: "./a/x.yaml", Typeflag: tar.TypeReg}, {Name: "a/l.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, {Name: "a/", Typeflag: tar.TypeDir}}, want: []string{"a/x.yaml"}},
		{name: "climbs out", entries: []tar.Header{{Name: "../x.yaml", Typeflag: tar.TypeReg}}, err: "leaves the artifact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			for _, h := range tc.entries {
				h.Mode = 0o644
				if err := tw.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			zw.Close()
			files, err := untarGz(buf.Bytes())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for p := range files {
				got = append(got, p)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("files %v, want %v", got, tc.want)
			}
		})
	}
}
