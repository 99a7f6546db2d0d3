package argosync

import (
	"testing"

	"github.com/gitgate/gitgate/sources/argorender"
)

// TestHookKeepsIndeterminate: a hook with a random value (a chart's
// pre-install Secret holding randAlphaNum) keeps it indeterminate in its
// own file, or Argo CD's create of it with another value is refused.
func TestHookKeepsIndeterminate(t *testing.T) {
	obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db-pass", "namespace": "shop",
		"annotations": map[string]any{"argocd.argoproj.io/hook": "PreSync"}}, "data": map[string]any{"password": "cmFuZG9t"}}
	res := &argorender.Result{Hooks: []argorender.Object{{Path: "templates/hook-secret.yaml", Object: obj, Indeterminate: []string{"/data/password"}}}}
	found := false
	for _, f := range Files(&argorender.Application{}, res, "k") {
		for _, o := range f.Objects {
			if o["metadata"].(map[string]any)["name"] == "db-pass" {
				found = true
				if len(f.Indeterminate) == 0 || !f.Transient {
					t.Errorf("hook db-pass in file %q: indeterminate %v, transient %v", f.Path, f.Indeterminate, f.Transient)
				}
			}
		}
	}
	if !found {
		t.Error("hook db-pass left out")
	}
}
