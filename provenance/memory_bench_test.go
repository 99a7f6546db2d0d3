package provenance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// BenchmarkIndexBytesPerObject reports the heap one declared object holds
// in a snapshot: peer.sh's Deployment (1.4 KB of JSON, 12 env vars, two
// containers), 2,000 of them with their own names, decoded as render
// decodes manifests (encoding/json).
//
//	go test -run '^$' -bench IndexBytesPerObject -benchtime 3x ./provenance/
func BenchmarkIndexBytesPerObject(b *testing.B) {
	manifest, err := os.ReadFile("testdata/peer-deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	for b.Loop() {
		before := heapInUse()
		files := make([]provenance.File, n)
		for i := range files {
			doc := strings.ReplaceAll(string(manifest), "svc-00000", fmt.Sprintf("svc-%05d", i))
			var obj map[string]any
			if err := json.Unmarshal([]byte(doc), &obj); err != nil {
				b.Fatal(err)
			}
			files[i] = provenance.File{Path: fmt.Sprintf("apps/%d.json", i), Objects: []map[string]any{obj}}
		}
		ix := &provenance.Indexer{Scope: provenancetest.Scope{"Deployment.apps": true}, DefaultNamespace: "default"}
		idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("d", 40)}, files)
		if err != nil {
			b.Fatal(err)
		}
		files = nil
		after := heapInUse()
		runtime.KeepAlive(idx)
		runtime.KeepAlive(ix)
		b.ReportMetric(float64(int64(after)-int64(before))/n, "B/object")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
