package argosync

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/rootsync"
)

// root is one Application and its last good render.
type root struct {
	// skipped says why the Application declares nothing; "" for a root.
	skipped string
	// State is the render bookkeeping every driver keeps (rootsync).
	rootsync.State
	// seen identifies the Application's spec and annotations at the last
	// pass: a change polls its repositories at once.
	seen string
	// agents are the root's own agents last handed to the Composer.
	agents []string
	// agentNote says why the root has none, as last logged.
	agentNote string
}

// syncRoots expects the roots on the first list, brings each to its
// sources, and removes the roots of Applications that are gone or now
// skipped.
func (w *Watcher) syncRoots(ctx context.Context, apps []*unstructured.Unstructured) {
	seen := map[types.NamespacedName]bool{}
	var expect []provenance.Root
	type pending struct {
		app *argorender.Application
		rt  *root
		u   *unstructured.Unstructured
	}
	var todo []pending
	for _, u := range apps {
		key := types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}
		seen[key] = true
		app, err := argorender.DecodeApplication(u.Object)
		if err != nil {
			rt := w.rootFor(&argorender.Application{Namespace: key.Namespace, Name: key.Name})
			w.fail(rt, "decode:"+err.Error(), err)
			continue
		}
		if why := skipReason(app, w.ClusterNames); why != "" {
			if rt := w.roots[key]; rt == nil || rt.skipped != why {
				w.Log.Info("Application skipped; gitgate declares none of its objects", "application", key.String(), "reason", why)
			}
			w.dropRoot(key)
			w.roots[key] = &root{skipped: why}
			continue
		}
		rt := w.rootFor(app)
		w.setAgents(app, rt)
		if !w.listed {
			expect = append(expect, rt.Root)
		}
		todo = append(todo, pending{app, rt, u})
	}
	if !w.listed {
		w.Composer.Expect(expect...)
		w.listed = true
		w.passes.MarkListed()
	}
	for _, p := range todo {
		w.syncRoot(ctx, p.app, p.rt)
		p.rt.seen = seenKey(p.u)
	}
	w.flush()
	for key := range w.roots {
		if !seen[key] {
			w.dropRoot(key)
			delete(w.roots, key)
		}
	}
}

// rootFor returns the state of app's root, starting it afresh when the
// root's identity (its repositories) changed.
func (w *Watcher) rootFor(app *argorender.Application) *root {
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	want := RootOf(app)
	if rt := w.roots[key]; rt != nil && rt.skipped == "" && rt.Root == want {
		return rt
	}
	w.dropRoot(key)
	rt := &root{State: rootsync.State{Root: want, Ix: w.Indexer.ForRoot(want)}}
	w.roots[key] = rt
	return rt
}

// dropRoot forgets the root of key in the Composer, if it had one.
func (w *Watcher) dropRoot(key types.NamespacedName) {
	if rt := w.roots[key]; rt != nil && rt.skipped == "" {
		w.Composer.Remove(rt.Root)
		w.Log.Info("Application no longer enforced", "root", rt.Root.Name)
	}
}

// fail reports err for rt once per key.
func (w *Watcher) fail(rt *root, key string, err error) {
	rt.Fail(w.Composer, key, err)
}

// syncRoot brings one Application to its sources' last revisions,
// rendering only when its inputs changed.
func (w *Watcher) syncRoot(ctx context.Context, app *argorender.Application, rt *root) {
	if w.env.err != nil {
		w.fail(rt, "env:"+w.env.err.Error(), w.env.err)
		return
	}
	sources := app.Spec.AllSources()
	repos := make([]*repo, len(sources))
	ids := []string{hashOf(app.Spec), w.env.key}
	for i, s := range sources {
		r := w.repos[sourceKey(s)]
		if r == nil || r.err != nil || r.files == nil {
			err := fmt.Errorf("source %s at %q: not read yet", s.RepoURL, s.TargetRevision)
			if r != nil && r.err != nil {
				err = r.err
			}
			w.fail(rt, "repo:"+err.Error(), err)
			return
		}
		repos[i] = r
		ids = append(ids, inputsID(r, s))
	}
	key := hashOf(ids)
	rev := primaryRevision(app, repos)
	switch {
	case key == rt.Key && rev == rt.Rev:
		w.Composer.Confirm(rt.Root)
		rt.FailedKey = ""
	case key == rt.Key:
		w.install(rt, rev, key, func(reuse func(path, id string) bool) ([]provenance.File, error) {
			if reuse != nil {
				return rt.Files, nil // the same inputs at a new revision
			}
			return w.render(ctx, app, repos, key)
		})
	case key == rt.FailedKey:
	default:
		w.install(rt, rev, key, func(func(path, id string) bool) ([]provenance.File, error) {
			return w.render(ctx, app, repos, key)
		})
	}
}

// primaryRevision is the revision a root is declared at: that of its
// first source that renders (a ref-only source aside).
func primaryRevision(app *argorender.Application, repos []*repo) provenance.Revision {
	for i, s := range app.Spec.AllSources() {
		if !app.Spec.HasMultipleSources() || s.Path != "" || s.Chart != "" {
			return repos[i].rev
		}
	}
	return repos[0].rev
}

// inputsID identifies what a source's render can read at its revision:
// the tree under its path, or the whole commit when the source may read
// outside it or names the build environment ($ARGOCD_APP_REVISION) in its
// spec or override files.
func inputsID(r *repo, s argorender.ApplicationSource) string {
	if s.Chart != "" {
		return "chart:" + r.rev.Hash
	}
	whole := "commit:" + r.rev.Hash
	if s.Ref != "" || s.Helm != nil && len(s.Helm.ValueFiles)+len(s.Helm.FileParameters) > 0 ||
		s.Directory != nil && len(s.Directory.Jsonnet.Libs) > 0 || strings.Contains(specText(s), "$") {
		return whole
	}
	dir := strings.Trim(path.Clean("/"+s.Path), "/")
	sub := r.tree
	if dir != "" {
		var err error
		if sub, err = r.tree.Tree(dir); err != nil {
			return "missing:" + dir
		}
	}
	if mayClimb(sub) {
		return whole
	}
	return "dir:" + sub.Hash.String()
}

// specText is a source's helm, kustomize and directory sections as JSON.
func specText(s argorender.ApplicationSource) string {
	b, _ := json.Marshal([]any{s.Helm, s.Kustomize, s.Directory})
	return string(b)
}

// mayClimb reports whether a file under sub that directs a render
// (kustomization, jsonnet, a chart's metadata, Argo CD's overrides)
// mentions ".." or "$": its inputs may then lie anywhere in the commit.
func mayClimb(sub *object.Tree) bool {
	found := false
	_ = sub.Files().ForEach(func(f *object.File) error {
		base := path.Base(f.Name)
		switch {
		case base == "kustomization.yaml", base == "kustomization.yml", base == "Kustomization",
			strings.HasSuffix(base, "sonnet"), base == "Chart.yaml", base == "requirements.yaml",
			strings.HasPrefix(base, ".argocd-source"):
		default:
			return nil
		}
		data, err := f.Contents()
		if err != nil || strings.Contains(data, "..") || strings.Contains(data, "$") {
			found = true
		}
		return nil
	})
	return found
}
