package argosync

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// render renders app at its sources' revisions into the root's files:
// one file per source file (or per source, for kustomize and Helm) of
// what the agent applies and keeps in sync, and the hooks apart as
// agent-only.
func (w *Watcher) render(ctx context.Context, app *argorender.Application, repos []*repo, key string) ([]provenance.File, error) {
	w.renders++
	in := argorender.Input{App: app, Settings: w.env.settings, KubeVersion: w.env.kubeVersion, APIVersions: w.env.apiVersions, Scope: w.Indexer.Scope}
	for _, r := range repos {
		rev := r.rev.Hash
		if r.version != "" {
			rev = r.version // ARGOCD_APP_REVISION of a chart: its version
		}
		in.Sources = append(in.Sources, argorender.Source{Files: r.files, Revision: rev})
	}
	res, err := argorender.Render(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, warn := range res.Warnings {
		w.Log.Info("Argo CD feature not reproduced", "application", app.Namespace+"/"+app.Name, "detail", warn)
	}
	for _, o := range res.Objects {
		if len(o.Indeterminate) > 0 {
			// Argo CD's render holds other values there: gitgate keeps its
			// own, so only the agent's writes there pass.
			w.Log.Info("fields differ from render to render", "application", app.Namespace+"/"+app.Name,
				"object", objectName(o.Object), "fields", o.Indeterminate)
		}
	}
	return Files(app, res, key), nil
}

// Files groups a render's objects into provenance files: declared ones by
// the file (or source path) they came from, with the Application's
// ignoreDifferences as fields left to controllers, an object with fields
// the render cannot reproduce in a file of its own that says which (one
// whose name the render cannot reproduce is left out), hooks in one
// transient file (one Argo CD names, generateName, left out).
// key identifies the render's inputs, so an Indexer reuses the entries of
// an unchanged render.
func Files(app *argorender.Application, res *argorender.Result, key string) []provenance.File {
	multi := app.Spec.HasMultipleSources()
	byPath := map[string]int{}
	var files []provenance.File
	for n, o := range res.Objects {
		p := o.Path
		if multi {
			p = fmt.Sprintf("%s (source %d)", p, o.Source+1)
		}
		switch {
		case provenance.IdentityIndeterminate(o.Indeterminate):
			continue // a random name: its key is not known
		case len(o.Indeterminate) > 0:
			files = append(files, provenance.File{Path: p, ID: key + "|" + p + "#" + strconv.Itoa(n), Objects: []map[string]any{o.Object},
				ControllerIgnores: res.Ignore, Indeterminate: o.Indeterminate})
			continue
		}
		i, ok := byPath[p]
		if !ok {
			i = len(files)
			byPath[p] = i
			files = append(files, provenance.File{Path: p, ID: key + "|" + p, ControllerIgnores: res.Ignore})
		}
		files[i].Objects = append(files[i].Objects, o.Object)
	}
	hooks := provenance.File{Path: "hooks", ID: key + "|hooks", Transient: true}
	for n, o := range res.Hooks {
		switch name, _, _ := unstructured.NestedString(o.Object, "metadata", "name"); {
		case name == "" || provenance.IdentityIndeterminate(o.Indeterminate):
			continue // generateName, or a random name: Argo CD names it, gitgate cannot
		case len(o.Indeterminate) > 0:
			files = append(files, provenance.File{Path: "hooks", ID: key + "|hooks#" + strconv.Itoa(n), Transient: true,
				Objects: []map[string]any{o.Object}, Indeterminate: o.Indeterminate})
			continue
		}
		hooks.Objects = append(hooks.Objects, o.Object)
	}
	if len(hooks.Objects) > 0 {
		files = append(files, hooks)
	}
	return files
}

// install reads the root's files at rev with read and indexes them for
// the pass's recomposition (flush).
func (w *Watcher) install(rt *root, rev provenance.Revision, key string, read provenance.ReadFiles) {
	w.batch.Install(w.Composer, &rt.State, rev, key, read, nil)
}

// flush hands the pass's new renders to the Composer in one
// recomposition (rootsync.Batch).
func (w *Watcher) flush() {
	w.batch.Flush(w.Composer, w.Log, "Application loaded")
}

// objectName names an object in a log line: kind namespace/name.
func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	kind, _ := obj["kind"].(string)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return kind + " " + ns + "/" + name
}
