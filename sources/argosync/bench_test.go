package argosync

import (
	"context"
	"fmt"
	"io"
	"log"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/test/harness"
)

const (
	benchApps    = 500
	benchObjects = 10000
)

// benchFleet is benchApps folders of benchObjects ConfigMaps in all (20
// to a file, one file a folder), on one repository and revision, and one
// Application per folder.
func benchFleet(b *testing.B) (*Watcher, *harness.GitServer) { return benchFleetOf(b, false) }

// benchFleetOf is benchFleet, each folder a kustomize root when kust.
func benchFleetOf(b *testing.B, kust bool) (*Watcher, *harness.GitServer) {
	log.SetOutput(io.Discard)
	files := map[string]string{}
	per := benchObjects / benchApps
	for a := 0; a < benchApps; a++ {
		var y strings.Builder
		for i := 0; i < per; i++ {
			fmt.Fprintf(&y, "---\n%s", configMap(fmt.Sprintf("cm-%d", i), "1"))
		}
		files[fmt.Sprintf("team-%d/cms.yaml", a)] = y.String()
		if kust {
			files[fmt.Sprintf("team-%d/kustomization.yaml", a)] = "resources: [cms.yaml]\n"
		}
	}
	dir := b.TempDir()
	provenancetest.WriteFiles(b, dir, files)
	g, err := harness.StartGitServer(harness.GitServerOptions{Fixture: dir})
	if err != nil {
		b.Fatal(err)
	}
	var objs []client.Object
	for a := 0; a < benchApps; a++ {
		y := fmt.Sprintf("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: team-%d, namespace: argocd}\nspec:\n  destination: {name: in-cluster, namespace: team-%d}\n  source: {repoURL: %q, path: team-%d, targetRevision: main}\n", a, a, g.HTTPURL(), a)
		objs = append(objs, &unstructured.Unstructured{Object: testyaml.ToMap(b, y)})
	}
	w, _ := newWatcher(&testing.T{}, &logLines{}, objs...)
	return w, g
}

// maxRSS is the process's peak resident set, in bytes (Linux ru_maxrss).
func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss * 1024
}

// BenchmarkArgoCDColdKustomize: BenchmarkArgoCDCold, each Application a
// kustomize root.
func BenchmarkArgoCDColdKustomize(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, g := benchFleetOf(b, true)
		runtime.GC()
		b.StartTimer()
		if err := w.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := w.Composer.Store.Load().Len(); n != benchObjects {
			b.Fatalf("%d objects, want %d", n, benchObjects)
		}
		b.ReportMetric(float64(maxRSS())/(1<<20), "peak-RSS-MiB")
		g.Close()
	}
}

// BenchmarkArgoCDCold: 500 Applications over 10,000 objects listed,
// their repository fetched once, each rendered and indexed, one
// composition: the time to ready. Peak RSS is the process's.
func BenchmarkArgoCDCold(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, g := benchFleet(b)
		runtime.GC()
		b.StartTimer()
		if err := w.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := w.Composer.Store.Load().Len(); n != benchObjects {
			b.Fatalf("%d objects, want %d", n, benchObjects)
		}
		if err := w.Composer.Ready(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(maxRSS())/(1<<20), "peak-RSS-MiB")
		g.Close()
	}
}

// BenchmarkArgoCDOneAppChange: a commit that changes one Application's
// folder: one fetch, exactly one render, 499 roots confirmed or moved to
// the new revision from their Indexer's cache.
func BenchmarkArgoCDOneAppChange(b *testing.B) {
	w, g := benchFleet(b)
	defer g.Close()
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := g.Commit(harness.Change{Write: map[string]string{"team-7/cms.yaml": configMap("cm-0", fmt.Sprint(i+2))}, Message: "one app"}); err != nil {
			b.Fatal(err)
		}
		renders := w.renders
		b.StartTimer()
		if err := w.SyncOnce(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if w.renders != renders+1 {
			b.Fatalf("%d renders for one Application's change, want 1", w.renders-renders)
		}
	}
}
