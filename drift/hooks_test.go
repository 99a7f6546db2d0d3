package drift

import (
	"context"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestHookDeclaredWholeDrifts: an Argo CD hook is declared in full (argosync's
// Files: Transient, whole content, compared for the sync agent); one left
// live (BeforeHookCreation) whose subjects someone widened is drift, not
// "unverifiable".
func TestHookDeclaredWholeDrifts(t *testing.T) {
	root := provenance.Root{Name: "Application argocd/shop"}
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "hooks", Transient: true, Objects: provenancetest.Objects(t,
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: migrate, namespace: shop, annotations: {argocd.argoproj.io/hook: PreSync}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: migrate}\nsubjects: [{kind: ServiceAccount, name: migrate, namespace: shop}]\n")}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLive{objects: map[string]map[string]any{
		"RoleBinding.rbac.authorization.k8s.io shop/migrate": live(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: migrate, namespace: shop, annotations: {argocd.argoproj.io/hook: PreSync}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: migrate}\nsubjects: [{kind: ServiceAccount, name: migrate, namespace: shop}, {kind: User, apiGroup: rbac.authorization.k8s.io, name: mallory}]\n"),
	}}
	r, err := Compare(context.Background(), idx.Snapshot(), f, Options{Checker: &provenance.Checker{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Objects) != 1 {
		t.Fatalf("objects %+v (key %q?)", r.Objects, idx.Snapshot().Entries()[0].Key.String())
	}
	if o := r.Objects[0]; o.State != Differs {
		t.Errorf("%s %s: a live hook whose subjects now hold mallory is not reported as drift (drifted %v)", o.State, o.Key(), r.Drifted())
	}
}
