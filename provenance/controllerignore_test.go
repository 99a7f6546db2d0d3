package provenance_test

import (
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestControllerIgnores: an Application's ignoreDifferences (a file's
// ControllerIgnores) free the field for a controller's write, in either
// field mode and through the scale subresource, and never for a person's;
// a rule for another object frees nothing.
func TestControllerIgnores(t *testing.T) {
	const deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2, template: {spec: {containers: [{name: web, image: nginx}]}}}\n"
	rules := []provenance.IgnoreRule{
		{Group: "apps", Kind: "Deployment", Name: "web", JSONPointers: []string{"/spec/replicas"}},
		{Group: "apps", Kind: "Deployment", Name: "api", JSONPointers: []string{"/spec/template"}},
	}
	ix := &provenance.Indexer{Scope: scope, Root: provenance.Root{Name: "Application argocd/web"}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "apps/web.yaml", Objects: mustObjects(t, deploy), ControllerIgnores: rules}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	scaled := toMap(t, deploy)
	scaled["spec"].(map[string]any)["replicas"] = int64(5)
	image := toMap(t, deploy)
	image["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "evil"
	scale := &provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Version: "v1", Namespace: "shop", Name: "web", Subresource: "scale",
		OldObject: toMap(t, "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2}\n"),
		Object:    toMap(t, "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 5}\n")}
	for _, tc := range []struct {
		name    string
		req     *provenance.Request
		checker *provenance.Checker
		allowed bool
	}{
		{"controller, replicas", update(t, deploy, scaled), &provenance.Checker{Controller: true}, true},
		{"controller, declared mode, replicas", update(t, deploy, scaled), &provenance.Checker{Controller: true, Fields: provenance.FieldsDeclared}, true},
		{"controller, scale", scale, &provenance.Checker{Controller: true}, true},
		{"person, replicas", update(t, deploy, scaled), &provenance.Checker{}, false},
		{"person, scale", scale, &provenance.Checker{}, false},
		{"controller, image (another object's rule)", update(t, deploy, image), &provenance.Checker{Controller: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := tc.checker.Check(snap, tc.req); res.Allowed != tc.allowed {
				t.Errorf("allowed %v (%s %v), want %v", res.Allowed, res.Reason, res.Diffs, tc.allowed)
			}
		})
	}
}

func update(t *testing.T, old string, obj map[string]any) *provenance.Request {
	t.Helper()
	return &provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Version: "v1", Namespace: "shop", Name: "web",
		OldObject: toMap(t, old), Object: obj}
}
