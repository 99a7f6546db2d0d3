package webhook

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/provenance"
)

type namespacedScope struct{}

func (namespacedScope) Namespaced(schema.GroupKind) (bool, bool, error) { return true, true, nil }

// benchHandler decides against a real Checker and Snapshot: Git declares
// shop/web-config, and the request adds a label (a denial in enforce mode).
func benchHandler(b *testing.B, a Auditor) *Handler {
	b.Helper()
	ix := &provenance.Indexer{Scope: namespacedScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{{
		Path: "shop/config.yaml",
		Objects: []map[string]any{{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "web-config", "namespace": "shop"}, "data": map[string]any{"greeting": "hello"}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	store := &provenance.Store{}
	store.Swap(s.Snapshot())
	return &Handler{
		Identities: DefaultIdentities(),
		Skip:       DefaultSkip(),
		Snapshots:  store,
		Checker:    &provenance.Checker{Fields: provenance.FieldsStrict},
		Repo:       Repo{URL: "https://git.example/fleet.git"},
		Modes:      FixedMode(Enforce),
		BreakGlass: grantStore(),
		Audit:      a,
	}
}

func deniedRequest() []byte {
	return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web-config","namespace":"shop","uid":"obj-uid","labels":{"owner":"me"}},"data":{"greeting":"hello"}}`)
}

// newAuditor is the production audit pipeline: records logged as JSON (to
// io.Discard instead of stdout) and appended to a rotating file.
func newAuditor(b *testing.B) (*audit.Auditor, func()) {
	b.Helper()
	f, err := audit.OpenFile(filepath.Join(b.TempDir(), "audit.log"), 100<<20, 5)
	if err != nil {
		b.Fatal(err)
	}
	a := audit.New(audit.Options{Log: audit.NewLog(io.Discard), File: f})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = a.Start(ctx) }()
	return a, func() { cancel(); <-a.Done() }
}

// BenchmarkHandleDenied is one denial from decoded admission request to
// response, without and with the audit trail (log and file sinks).
func BenchmarkHandleDenied(b *testing.B) {
	for _, tc := range []struct {
		name  string
		audit bool
	}{{"audit=off", false}, {"audit=file", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var a Auditor
			stop := func() {}
			if tc.audit {
				a, stop = newAuditor(b)
			}
			h := benchHandler(b, a)
			req := request("dev-user")
			req.Object.Raw = deniedRequest()
			ctx := logr.NewContext(context.Background(), logr.Discard())
			dropped := droppedTotal(b)
			b.ReportAllocs()
			for b.Loop() {
				if resp := h.Handle(ctx, req); resp.Allowed {
					b.Fatal("want denied")
				}
			}
			stop()
			b.ReportMetric(droppedTotal(b)-dropped, "dropped")
		})
	}
}

// BenchmarkSustained1000DenialsPerSecond paces denials at 1,000 a second
// with the file sink on, and reports decision latency percentiles and
// dropped records. Run it with -benchtime=5000x (five seconds).
func BenchmarkSustained1000DenialsPerSecond(b *testing.B) {
	a, stop := newAuditor(b)
	h := benchHandler(b, a)
	req := request("dev-user")
	req.Object.Raw = deniedRequest()
	ctx := logr.NewContext(context.Background(), logr.Discard())
	dropped := droppedTotal(b)
	lat := make([]time.Duration, 0, b.N)
	start := time.Now()
	i := 0
	for b.Loop() {
		if d := time.Until(start.Add(time.Duration(i) * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
		t := time.Now()
		if resp := h.Handle(ctx, req); resp.Allowed {
			b.Fatal("want denied")
		}
		lat = append(lat, time.Since(t))
		i++
	}
	elapsed := time.Since(start)
	stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "denials/s")
	b.ReportMetric(pct(0.5), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(slices.Max(lat).Microseconds()), "max-µs")
	b.ReportMetric(droppedTotal(b)-dropped, "dropped")
}

func droppedTotal(b *testing.B) float64 {
	b.Helper()
	mfs, err := metrics.Registry.(prometheus.Gatherer).Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gitgate_audit_records_dropped_total" {
			return sum(mf.GetMetric())
		}
	}
	return 0
}

func sum(ms []*dto.Metric) float64 {
	var s float64
	for _, m := range ms {
		s += m.GetCounter().GetValue()
	}
	return s
}
