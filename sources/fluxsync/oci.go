package fluxsync

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxrender"
	"github.com/gitgate/gitgate/sources/helmchart"
)

// Bounds of one OCIRepository artifact gitgate pulls for Kustomizations:
// its layer as the registry serves it, and its files once extracted.
const (
	maxOCILayerSize = 64 << 20
	maxOCIFilesSize = 256 << 20
)

// errVerify: an OCIRepository with spec.verify; gitgate checks no
// cosign or notation signature yet, and declares nothing it did not
// verify as source-controller does.
var errVerify = errors.New("verify is not supported yet")

// listOCI reads the OCIRepositories of the watched namespaces. An API
// server that serves none lists none.
func (w *Watcher) listOCI(ctx context.Context) ([]sourcev1.OCIRepository, error) {
	var out []sourcev1.OCIRepository
	namespaces := w.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		var l sourcev1.OCIRepositoryList
		if err := w.Reader.List(ctx, &l, client.InNamespace(ns)); err != nil {
			if meta.IsNoMatchError(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("list OCIRepositories: %w", err)
		}
		out = append(out, l.Items...)
	}
	return out, nil
}

// pollOCIs brings each OCIRepository's state to its registry when due:
// the first time, when the object or its artifact changed, or when its
// interval passed.
func (w *Watcher) pollOCIs(ctx context.Context, ors []sourcev1.OCIRepository, now time.Time) {
	current := map[types.NamespacedName]*repo{}
	for i := range ors {
		or := &ors[i]
		key := types.NamespacedName{Namespace: or.Namespace, Name: or.Name}
		r := w.ocis[key]
		if r == nil {
			r = &repo{}
		}
		r.polled = false
		seen := fmt.Sprint(or.Generation) + "/" + artifactRevision(or.Status.Artifact)
		if r.next.IsZero() || r.seen != seen || !now.Before(r.next) {
			interval := max(or.Spec.Interval.Duration, w.minInterval())
			r.polled, r.seen, r.next, r.url = true, seen, now.Add(interval), or.Spec.URL
			r.err = w.readOCI(ctx, or, r)
		}
		current[key] = r
	}
	w.ocis = current
}

// readOCI resolves or's reference and, when its manifest digest or its
// content rules changed, pulls and unpacks its layer. What gitgate
// pulled must be source-controller's artifact: a mismatch (the tag moved
// and source-controller has not caught up, or it stores something else)
// fails the roots of or, which keep their last good render.
func (w *Watcher) readOCI(ctx context.Context, or *sourcev1.OCIRepository, r *repo) error {
	if v := or.Spec.Verify; v != nil {
		return fmt.Errorf("verify.provider %s: %w", v.Provider, errVerify)
	}
	a, err := w.fetcher().PullOCI(ctx, or)
	if err != nil {
		return err
	}
	filesKey := hashOf(or.Spec.Ignore, or.Spec.LayerSelector)
	if r.files == nil || a.Digest != r.digest || filesKey != r.filesKey {
		data, layerDigest, err := a.Layer(or, maxOCILayerSize)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", a.Revision, err)
		}
		var ignore func(string) bool
		files, err := untarGz(data)
		if err == nil && or.GetLayerOperation() != sourcev1.OCILayerCopy {
			// Extracted and archived again by source-controller, with
			// .sourceignore and spec.ignore; a copied layer is stored
			// as pulled.
			ignore, err = fluxrender.Ignore(files, or.Spec.Ignore)
		}
		if err != nil {
			return fmt.Errorf("artifact %s: %w", a.Revision, err)
		}
		for name := range files {
			if ignore != nil && ignore(name) {
				delete(files, name)
			}
		}
		r.files, r.digest, r.layerDigest, r.filesKey = files, a.Digest, layerDigest, filesKey
		r.rev = provenance.Revision{Label: a.Revision}
	}
	digest := ""
	if or.GetLayerOperation() == sourcev1.OCILayerCopy {
		digest = r.layerDigest
	}
	return helmchart.CheckArtifact(or.Status.Artifact, r.rev.Label, digest)
}

// untarGz reads a tar+gzip layer into its regular files, as
// source-controller's tar.Untar writes them (symlinks and other special
// entries left out), refusing a path that leaves the root and bounding
// the size.
func untarGz(data []byte) (fstest.MapFS, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("layer is not tar+gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	files := fstest.MapFS{}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if !fs.ValidPath(name) || name == "." || strings.HasPrefix(path.Clean(h.Name), "..") {
			return nil, fmt.Errorf("layer entry %q leaves the artifact", h.Name)
		}
		total += h.Size
		if total > maxOCIFilesSize {
			return nil, fmt.Errorf("layer files exceed %d bytes", maxOCIFilesSize)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("read layer entry %s: %w", name, err)
		}
		files[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
}
