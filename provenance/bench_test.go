package provenance_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// benchFixture is a real Deployment: its manifest as written in Git, and
// the object the API server stored for it (defaults filled in, with kubectl's
// last-applied annotation; 6.9 KB of JSON).
func benchFixture(b *testing.B, livePath string) (*provenance.Snapshot, []byte) {
	b.Helper()
	manifest, err := os.ReadFile("testdata/deployment.yaml")
	if err != nil {
		b.Fatal(err)
	}
	live, err := os.ReadFile(livePath)
	if err != nil {
		b.Fatal(err)
	}
	ix := &provenance.Indexer{Scope: provenancetest.Scope{"Deployment.apps": true}, DefaultNamespace: "default"}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("b", 40)}, []provenance.File{{Path: "deploy.yaml", Objects: mustObjects(b, string(manifest))}})
	if err != nil {
		b.Fatal(err)
	}
	return idx.Snapshot(), live
}

// BenchmarkDecideUpdate is the admission hot path for an UPDATE of a
// Deployment: decode object and oldObject, look the object up, compare.
// 5KB: with a managedFields entry, as admission sees it; 7KB: with kubectl's
// last-applied-configuration annotation instead, which doubles the spec.
func BenchmarkDecideUpdate(b *testing.B) {
	b.Run("5KB", func(b *testing.B) { benchDecideUpdate(b, "testdata/deployment-live-5k.json", false) })
	b.Run("7KB", func(b *testing.B) { benchDecideUpdate(b, "testdata/deployment-live.json", false) })
	// The object's raw JSON kept, as the webhook keeps it: its
	// managedFields are read (ownershipChange), the old object's a copy of
	// the new one's bytes apart.
	b.Run("5KB-ownership", func(b *testing.B) { benchDecideUpdate(b, "testdata/deployment-live-5k.json", true) })
}

func benchDecideUpdate(b *testing.B, livePath string, raw bool) {
	snap, live := benchFixture(b, livePath)
	var objRaw, oldRaw []byte
	if raw {
		objRaw, oldRaw = live, append([]byte(nil), live...)
	}
	c := &provenance.Checker{Fields: provenance.FieldsStrict, Ignores: mustIgnores(b)}
	b.SetBytes(int64(2 * len(live)))
	b.ReportAllocs()
	for b.Loop() {
		obj, err := provenance.DecodeObject(live)
		if err != nil {
			b.Fatal(err)
		}
		old, err := provenance.DecodeObject(live)
		if err != nil {
			b.Fatal(err)
		}
		res := c.Check(snap, &provenance.Request{Operation: provenance.Update, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "checkout",
			Object: obj, OldObject: old, ObjectRaw: objRaw, OldObjectRaw: oldRaw})
		if !res.Allowed {
			b.Fatalf("denied: %v %v", res.Reason, res.Diffs)
		}
	}
}

// BenchmarkCompareDeployment is the comparison alone, on decoded objects.
func BenchmarkCompareDeployment(b *testing.B) {
	snap, live := benchFixture(b, "testdata/deployment-live-5k.json")
	var obj, old map[string]any
	if err := json.Unmarshal(live, &obj); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(live, &old); err != nil {
		b.Fatal(err)
	}
	e := snap.Lookup(provenance.Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "checkout"})
	ig := mustIgnores(b).For(e.Key)
	declared := e.Object()
	b.ReportAllocs()
	for b.Loop() {
		if d := compare.Compare(declared, old, obj, e.Schema, compare.Options{Strict: true, Ignore: ig}); len(d) > 0 {
			b.Fatalf("diffs: %v", d)
		}
	}
}

func mustIgnores(b testing.TB) *provenance.Ignores {
	ig, err := provenance.CompileIgnores(nil)
	if err != nil {
		b.Fatal(err)
	}
	return ig
}
