package fluxsync

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxrender"
)

// root is one Kustomization and its last good render.
type root struct {
	// skipped says why the Kustomization declares nothing; "" for a root.
	skipped string
	root    provenance.Root
	ix      *provenance.Indexer
	// key identifies the inputs of the last good render (or of the last
	// failed one, so that it is not retried until something changes);
	// files are its files without objects, for the Indexer to reuse at a
	// new revision.
	key, failedKey string
	// spec identifies the Kustomization's spec at the last attempt.
	spec    string
	files   []provenance.File
	rev     provenance.Revision
	fetched time.Time
	loaded  bool
	// inputs are what the Kustomization names for its render to read, as
	// last handed to the Composer (inputsSet).
	inputs    []provenance.Input
	inputsSet bool
}

// rootFor returns the state of ks's root, starting it afresh when the
// root's identity (its source or URL) changed.
func (w *Watcher) rootFor(ks *kustomizev1.Kustomization) *root {
	key := types.NamespacedName{Namespace: ks.Namespace, Name: ks.Name}
	url := ""
	if r, err := w.sourceFor(ks); err == nil {
		url = r.url
	}
	want := RootOf(ks, url)
	if rt := w.roots[key]; rt != nil && rt.skipped == "" && (rt.root == want || url == "") {
		return rt
	}
	w.dropRoot(key)
	rt := &root{root: want, ix: w.Indexer.ForRoot(want)}
	w.roots[key] = rt
	// Only the roots of the first list are expected (syncRoots): one
	// created later never holds readiness.
	return rt
}

// syncRoot brings one Kustomization to its GitRepository's last revision,
// rendering only when its inputs changed. Failures go to the Composer
// once per change of inputs or poll of the source.
func (w *Watcher) syncRoot(ctx context.Context, ks *kustomizev1.Kustomization, rt *root) {
	r, err := w.sourceFor(ks)
	if err != nil {
		if rt.failedKey != err.Error() {
			rt.failedKey = err.Error()
			w.Composer.Fail(rt.root, err)
		}
		return
	}
	specKey := hashOf(ks.Spec)
	if !r.polled && rt.spec == specKey {
		return // nothing read this pass, nothing changed
	}
	rt.spec = specKey
	if r.err != nil {
		w.fail(rt, specKey+r.err.Error(), fmt.Errorf("%s %s: %w", ks.Spec.SourceRef.Kind, sourceOf(ks), r.err))
		return
	}
	v, err := readVars(ctx, w.APIReader, ks)
	if err != nil {
		w.fail(rt, specKey+"vars:"+err.Error(), err)
		return
	}
	id, err := "oci:"+r.digest, error(nil)
	if r.tree != nil {
		id, err = inputsID(r.tree, ks.Spec.Path)
	}
	if err != nil {
		w.fail(rt, "", err)
		return
	}
	key := specKey + "|" + id + "|" + r.filesKey + "|" + v.key()
	switch {
	case key == rt.key && r.rev == rt.rev:
		w.Composer.Confirm(rt.root)
		rt.failedKey = ""
	case key == rt.key:
		w.install(rt, r.rev, key, func(reuse func(path, id string) bool) ([]provenance.File, error) {
			if reuse != nil {
				// The same inputs at a new revision: the Indexer holds
				// their entries.
				return rt.files, nil
			}
			return w.render(ctx, r, ks, v, key)
		})
	case key == rt.failedKey:
		// The same inputs failed before: counted once, not at every poll.
	default:
		w.install(rt, r.rev, key, func(func(path, id string) bool) ([]provenance.File, error) {
			return w.render(ctx, r, ks, v, key)
		})
	}
}

// sourceFor is ks's GitRepository or OCIRepository, or why it has none.
func (w *Watcher) sourceFor(ks *kustomizev1.Kustomization) (*repo, error) {
	ref := ks.Spec.SourceRef
	var r *repo
	switch ref.Kind {
	case sourcev1.GitRepositoryKind:
		r = w.repos[sourceOf(ks)]
	case sourcev1.OCIRepositoryKind:
		r = w.ocis[sourceOf(ks)]
	default:
		return nil, fmt.Errorf("sourceRef kind %s: %w (only GitRepository and OCIRepository)", ref.Kind, ErrUnsupported)
	}
	if r == nil {
		return nil, fmt.Errorf("%s %s: %w in the watched namespaces", ref.Kind, sourceOf(ks), errNoSource)
	}
	return r, nil
}

// fail reports err for rt once per key.
func (w *Watcher) fail(rt *root, key string, err error) {
	if key != "" && key == rt.failedKey {
		return
	}
	rt.failedKey = key
	w.Composer.Fail(rt.root, err)
}

// render renders ks at r's revision into the root's files: the objects
// Flux applies and reverts, and the agent-only ones apart.
func (w *Watcher) render(ctx context.Context, r *repo, ks *kustomizev1.Kustomization, v *vars, key string) ([]provenance.File, error) {
	w.renders++
	objs, err := fluxrender.Render(ctx, r.files, ks, v)
	if err != nil {
		return nil, err
	}
	name := strings.Trim(path.Clean("/"+ks.Spec.Path), "/")
	if name == "" {
		name = "."
	}
	declared := provenance.File{Path: name, Kustomize: true, ID: key, HideValues: substitutesSecrets(ks)}
	agentOnly := provenance.File{Path: name, Kustomize: true, ID: key + "|agent-only", AgentOnly: true}
	for _, o := range objs {
		switch {
		case neverReverted(o.Object):
		case o.AgentOnly:
			agentOnly.Objects = append(agentOnly.Objects, o.Object)
		default:
			declared.Objects = append(declared.Objects, o.Object)
		}
	}
	// An Indexer reads a file without objects as one to reuse: leave
	// empty ones out.
	var files []provenance.File
	for _, f := range []provenance.File{declared, agentOnly} {
		if len(f.Objects) > 0 {
			files = append(files, f)
		}
	}
	return files, nil
}

// built is a root's new render, indexed, waiting for the pass's one
// recomposition.
type built struct {
	rt    *root
	part  provenance.Part
	files []provenance.File
	key   string
	// done, when set, runs once the render is the root's last good one.
	done func()
}

// install reads the root's files at rev with read and indexes them for
// the pass's recomposition (flush).
func (w *Watcher) install(rt *root, rev provenance.Revision, key string, read provenance.ReadFiles) {
	var files []provenance.File
	idx, err := rt.ix.BuildFrom(rev, func(reuse func(path, id string) bool) ([]provenance.File, error) {
		var err error
		files, err = read(reuse)
		return files, err
	})
	if err != nil {
		w.fail(rt, key, fmt.Errorf("revision %s: %w", rev, err))
		return
	}
	fetched := time.Now()
	if rt.loaded && rt.rev == rev {
		fetched = rt.fetched
	}
	w.batch = append(w.batch, built{rt: rt, part: provenance.Part{Index: idx, Fetched: fetched}, files: files, key: key})
}

// flush hands the pass's new renders to the Composer in one
// recomposition, and records them as each root's last good render.
func (w *Watcher) flush() {
	if len(w.batch) == 0 {
		return
	}
	parts := make([]provenance.Part, len(w.batch))
	for i, b := range w.batch {
		parts[i] = b.part
	}
	w.Composer.Update(parts...)
	for _, b := range w.batch {
		rt := b.rt
		rt.key, rt.failedKey, rt.rev, rt.fetched, rt.loaded = b.key, "", b.part.Index.Revision(), b.part.Fetched, true
		rt.files = make([]provenance.File, len(b.files))
		for i, f := range b.files {
			// By identity only, for the Indexer to reuse.
			f.Objects, f.Load = nil, nil
			rt.files[i] = f
		}
		if b.done != nil {
			b.done()
		}
		w.Log.Info("root loaded", "root", rt.root.Name, "revision", rt.rev.String(), "objects", b.part.Index.Len())
	}
	w.batch = nil
}

func (w *Watcher) minInterval() time.Duration {
	if w.MinInterval > 0 {
		return w.MinInterval
	}
	return DefaultMinInterval
}

// substitutesSecrets reports whether ks takes variables from a Secret:
// their values may then stand anywhere in its objects.
func substitutesSecrets(ks *kustomizev1.Kustomization) bool {
	if ks.Spec.PostBuild == nil {
		return false
	}
	for _, ref := range ks.Spec.PostBuild.SubstituteFrom {
		if ref.Kind == "Secret" {
			return true
		}
	}
	return false
}
