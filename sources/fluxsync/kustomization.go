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
	"github.com/gitgate/gitgate/sources/rootsync"
)

// root is one Kustomization and its last good render.
type root struct {
	// skipped says why the Kustomization declares nothing; "" for a root.
	skipped string
	// State is the render bookkeeping every driver keeps (rootsync).
	rootsync.State
	// spec identifies the Kustomization's spec at the last attempt.
	spec string
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
	if rt := w.roots[key]; rt != nil && rt.skipped == "" && (rt.Root == want || url == "") {
		return rt
	}
	w.dropRoot(key)
	rt := &root{State: rootsync.State{Root: want, Ix: w.Indexer.ForRoot(want)}}
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
		if rt.FailedKey != err.Error() {
			rt.FailedKey = err.Error()
			w.Composer.Fail(rt.Root, err)
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
	case key == rt.Key && r.rev == rt.Rev:
		w.Composer.Confirm(rt.Root)
		rt.FailedKey = ""
	case key == rt.Key:
		w.install(rt, r.rev, key, func(reuse func(path, id string) bool) ([]provenance.File, error) {
			if reuse != nil {
				// The same inputs at a new revision: the Indexer holds
				// their entries.
				return rt.Files, nil
			}
			return w.render(ctx, r, ks, v, key)
		}, nil)
	case key == rt.FailedKey:
		// The same inputs failed before: counted once, not at every poll.
	default:
		w.install(rt, r.rev, key, func(func(path, id string) bool) ([]provenance.File, error) {
			return w.render(ctx, r, ks, v, key)
		}, nil)
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
	rt.Fail(w.Composer, key, err)
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
	declared := provenance.File{Path: name, Kustomize: true, ID: key, HideValues: fluxrender.SubstitutesSecrets(ks)}
	agentOnly := provenance.File{Path: name, Kustomize: true, ID: key + "|agent-only", AgentOnly: true}
	for _, o := range objs {
		switch {
		case fluxrender.NeverReverted(o.Object):
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

// install reads the root's files at rev with read and indexes them for
// the pass's recomposition (flush); done, when set, runs once the render
// is the root's last good one.
func (w *Watcher) install(rt *root, rev provenance.Revision, key string, read provenance.ReadFiles, done func()) {
	w.batch.Install(w.Composer, &rt.State, rev, key, read, done)
}

// flush hands the pass's new renders to the Composer in one
// recomposition (rootsync.Batch).
func (w *Watcher) flush() {
	w.batch.Flush(w.Composer, w.Log, "root loaded")
}

func (w *Watcher) minInterval() time.Duration {
	if w.MinInterval > 0 {
		return w.MinInterval
	}
	return DefaultMinInterval
}
