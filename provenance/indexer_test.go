package provenance_test

import (
	"errors"
	"testing"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestBuildFromReadsAgainWhenTheCacheIsStale: BuildFrom reads with the
// Indexer's Cached, and when the cached entries cannot serve the revision
// (its CRDs changed) reads every file afresh once; a caller never sees
// ErrIndexCacheStale.
func TestBuildFromReadsAgainWhenTheCacheIsStale(t *testing.T) {
	crd := func(scope string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.other.io}\n" +
			"spec: {group: other.io, scope: " + scope + ", names: {kind: Gadget, plural: gadgets}, versions: [{name: v1, served: true, storage: true}]}\n"
	}
	const gadget = "apiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: team}\n"
	type file struct{ path, id, yaml string }
	var reads []bool // whether each read was given a reuse function
	reader := func(files ...file) provenance.ReadFiles {
		return func(reuse func(path, id string) bool) ([]provenance.File, error) {
			reads = append(reads, reuse != nil)
			var out []provenance.File
			for _, f := range files {
				if reuse != nil && reuse(f.path, f.id) {
					out = append(out, provenance.File{Path: f.path, ID: f.id})
					continue
				}
				out = append(out, provenance.File{Path: f.path, ID: f.id, Objects: provenancetest.Objects(t, f.yaml)})
			}
			return out, nil
		}
	}
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	steps := []struct {
		name      string
		files     []file
		wantReads []bool
		wantNS    string // the Gadget's namespace
	}{
		{"cold", []file{{"crd.yaml", "c1", crd("Namespaced")}, {"g.yaml", "g1", gadget}}, []bool{true}, "team"},
		{"unchanged: the cache serves it", []file{{"crd.yaml", "c1", crd("Namespaced")}, {"g.yaml", "g1", gadget}}, []bool{true}, "team"},
		{"the CRD becomes cluster-scoped: read again", []file{{"crd.yaml", "c2", crd("Cluster")}, {"g.yaml", "g1", gadget}}, []bool{true, false}, ""},
	}
	for i, st := range steps {
		reads = nil
		idx, err := ix.BuildFrom(provenancetest.Revision(string(rune('1'+i))), reader(st.files...))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(reads) != len(st.wantReads) || reads[0] != st.wantReads[0] || len(reads) > 1 && reads[1] != st.wantReads[1] {
			t.Errorf("%s: reads with reuse %v, want %v", st.name, reads, st.wantReads)
		}
		if idx.Lookup(provenance.Key{Group: "other.io", Kind: "Gadget", Namespace: st.wantNS, Name: "g"}) == nil {
			t.Errorf("%s: Gadget not declared in namespace %q", st.name, st.wantNS)
		}
	}
	boom := errors.New("render failed")
	_, err := ix.BuildFrom(provenancetest.Revision("9"), func(func(path, id string) bool) ([]provenance.File, error) { return nil, boom })
	if err != boom {
		t.Errorf("err = %v, want read's error as it is", err)
	}
}

// TestIndexNamesItsRoot: an Index holds one root at one revision, and the
// Composer installs it as that root's part.
func TestIndexNamesItsRoot(t *testing.T) {
	idx := part(t, rootB, "2", cm("x", "1")).Index
	if idx.Root() != rootB || idx.Revision() != provenancetest.Revision("2") || idx.Len() != 1 {
		t.Fatalf("index of %v at %v with %d objects", idx.Root(), idx.Revision(), idx.Len())
	}
	alone := idx.Snapshot()
	if roots := alone.Roots(); len(roots) != 1 || roots[0].Root != rootB || roots[0].Objects != 1 {
		t.Errorf("snapshot of the index alone: roots %v", roots)
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Update(provenance.Part{Index: idx})
	if got := declared(c.Store.Load(), "x"); got["x"] != "path b@2:1" {
		t.Errorf("declared %v", got)
	}
	if alone.Len() != c.Store.Load().Len() || !alone.NamespaceHoldsManaged("app") {
		t.Error("the index alone declares other than the composed snapshot")
	}
}

// TestEntriesOfAKustomizeRoot: an object of a kustomize root is declared
// by the file kustomize recorded as its origin, within the root; an
// object without one by the root.
func TestEntriesOfAKustomizeRoot(t *testing.T) {
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	objs := provenancetest.Objects(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: from-base, annotations: {config.kubernetes.io/origin: "path: ../base/web.yaml\n"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: generated}
`)
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "apps/prod", Kustomize: true, Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][3]string{
		"from-base": {"apps/base/web.yaml", "apps/prod", "apps/base/web.yaml (kustomize apps/prod)"},
		"generated": {"apps/prod", "apps/prod", "apps/prod (kustomize)"},
	} {
		e := idx.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: name})
		if e == nil {
			t.Fatalf("%s not declared", name)
		}
		if got := [3]string{e.Path, e.Kustomize, e.Origin()}; got != want {
			t.Errorf("%s: path, kustomize, origin = %q, want %q", name, got, want)
		}
	}
	_, err = ix.Build(provenancetest.Revision("b"), []provenance.File{{Path: "apps/prod", Kustomize: true, Objects: append(objs, objs[1])}})
	if err == nil || err.Error() != "object declared twice: ConfigMap default/generated in apps/prod (kustomize) and apps/prod (kustomize)" {
		t.Errorf("err = %v, want a duplicate named by origin", err)
	}
}
