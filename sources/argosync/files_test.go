package argosync

import (
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
)

// TestFilesKeepIndeterminate: a chart's random value (two renders
// differ at /data/token) must reach the provenance file as Indeterminate,
// or the sync agent's "values its render cannot reproduce" never exist
// for Argo CD and gitgate pins the first render's random value.
func TestFilesKeepIndeterminate(t *testing.T) {
	app := &argorender.Application{}
	res := &argorender.Result{Objects: []argorender.Object{{
		Path: "templates/secret.yaml",
		Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "session", "namespace": "shop"}, "data": map[string]any{"token": "cmFuZG9t"}},
		Indeterminate: []string{"/data/token"},
	}}}
	files := Files(app, res, "k")
	if len(files) != 1 || len(files[0].Indeterminate) == 0 {
		t.Errorf("files = %+v: the render's indeterminate /data/token is dropped", files)
	}
}

// TestGenerateNameHookLeftOut: Argo CD's documented hook form names it with
// metadata.generateName only. The Application must still index (its other
// objects stay declared), the hook being nothing gitgate can key.
func TestGenerateNameHookLeftOut(t *testing.T) {
	app := &argorender.Application{}
	res := &argorender.Result{
		Objects: []argorender.Object{{Path: "cm.yaml", Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "cfg", "namespace": "shop"}, "data": map[string]any{"k": "v"}}}},
		Hooks: []argorender.Object{{Path: "hook.yaml", Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job",
			"metadata": map[string]any{"generateName": "migrate-", "namespace": "shop", "annotations": map[string]any{"argocd.argoproj.io/hook": "PreSync"}},
			"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never", "containers": []any{map[string]any{"name": "m", "image": "migrate:1"}}}}}}}},
	}
	files := Files(app, res, "k")
	for i := range files {
		files[i].ID = "" // index afresh, not from a cache
	}
	ix := &provenance.Indexer{Root: provenance.Root{Name: "Application argocd/shop"}, DefaultNamespace: "shop"}
	if _, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, files); err != nil {
		t.Errorf("the Application fails to index over a generateName hook: %v", err)
	}
}
