package helmrender_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// BenchmarkRender renders the podinfo-like chart 200 times per op, each
// with its own values (200 HelmReleases of one chart), as one pass of the
// Flux watcher over 200 changed roots would. The chart is deterministic,
// so each render is a single Helm pass.
func BenchmarkRender(b *testing.B) {
	c := chartOf(b, podinfo)
	hr := release(b, "spec: {interval: 1m, commonMetadata: {labels: {team: web}}}")
	inputs := make([]helmrender.Input, 200)
	for i := range inputs {
		h := withValues(hr.DeepCopy(), map[string]any{"replicaCount": i, "ui": map[string]any{"message": fmt.Sprintf("hello %d", i)}})
		h.Name = fmt.Sprintf("podinfo-%d", i)
		vals, err := helmrender.ComposeValues(context.Background(), nil, h)
		if err != nil {
			b.Fatal(err)
		}
		inputs[i] = helmrender.Input{HelmRelease: h, Chart: c, Values: vals, Target: helmrender.Target{Revision: 2, Upgrade: true}, Capabilities: caps, Scope: provenancetest.AnyKind{}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, in := range inputs {
			if _, err := helmrender.Render(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inputs)), "ns/render")
}
