package fluxsync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	benchRoots   = 50
	benchObjects = 10000
)

// benchFleet is benchRoots folders with benchObjects ConfigMaps in all,
// 20 to a file, and a GitRepository with one Kustomization per folder.
func benchFleet(b *testing.B) (*Watcher, *harness.GitServer) {
	files := map[string]string{}
	perRoot := benchObjects / benchRoots
	for r := 0; r < benchRoots; r++ {
		for f := 0; f < perRoot/20; f++ {
			var y strings.Builder
			for i := 0; i < 20; i++ {
				fmt.Fprintf(&y, "---\n%s", configMap(fmt.Sprintf("cm-%d-%d", f, i), fmt.Sprintf("team-%d", r), "1"))
			}
			files[fmt.Sprintf("team-%d/file-%d.yaml", r, f)] = y.String()
		}
	}
	g := startGit(&testing.T{}, files)
	objs := []client.Object{authSecret(), gitRepository("fleet", g.HTTPURL(), authName)}
	for r := 0; r < benchRoots; r++ {
		objs = append(objs, kustomization(fmt.Sprintf("team-%d", r), fmt.Sprintf("team-%d", r), "fleet"))
	}
	w, _ := newWatcher(&testing.T{}, &logLines{}, objs...)
	return w, g
}

// BenchmarkFluxCold: every Kustomization fetched, rendered and indexed
// once, as at start-up.
func BenchmarkFluxCold(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, g := benchFleet(b)
		b.StartTimer()
		if err := w.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := w.Composer.Store.Load().Len(); n != benchObjects {
			b.Fatalf("%d objects, want %d", n, benchObjects)
		}
		g.Close()
	}
}

// BenchmarkFluxOneFileChange: a commit that changes one file of one
// Kustomization: one fetch, one render, 49 roots moved to the new
// revision without a render.
func BenchmarkFluxOneFileChange(b *testing.B) {
	w, g := benchFleet(b)
	defer g.Close()
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := g.Commit(harness.Change{Write: map[string]string{"team-7/file-0.yaml": configMap("cm-0-0", "team-7", fmt.Sprint(i+2))}, Message: "one file"}); err != nil {
			b.Fatal(err)
		}
		renders := w.renders
		b.StartTimer()
		if err := w.SyncOnce(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if w.renders != renders+1 {
			b.Fatalf("%d renders for a one-file change, want 1", w.renders-renders)
		}
	}
}
