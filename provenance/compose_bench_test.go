package provenance_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// BenchmarkRecompose: 50 roots declaring 10,000 ConfigMaps (200 each) are
// loaded; one root gets a new part and the Composer publishes the merge
// of all 50 again. This is the cost every root update adds to a sync.
func BenchmarkRecompose(b *testing.B) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	parts := make([]provenance.Part, 0, 50)
	for r := 0; r < 50; r++ {
		root := provenance.Root{Name: fmt.Sprintf("path team-%02d", r), Source: "fleet"}
		var docs strings.Builder
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&docs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: team-%02d}\ndata: {v: x}\n---\n", i, r)
		}
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
		idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "cm.yaml", Objects: provenancetest.Objects(b, docs.String())}})
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, provenance.Part{Index: idx})
	}
	c.Update(parts...)
	if n := c.Store.Load().Len(); n != 10000 {
		b.Fatalf("composed %d objects, want 10000", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Update(parts[0])
	}
}
