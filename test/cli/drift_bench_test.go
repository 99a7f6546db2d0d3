package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	driftpkg "github.com/gitgate/gitgate/drift"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// benchNamespace is excluded from the webhook, so the benchmark's
// ConfigMaps need no Git behind them.
const benchNamespace = "kube-public"

// BenchmarkDriftScan reads n declared ConfigMaps from the real API server
// as serve's scan does (one paged LIST, at the scan's 50 QPS), and as it
// did before (a GET per object, here at the same QPS), then compares them
// with Git. Figures in BENCHMARKS.md.
func BenchmarkDriftScan(b *testing.B) {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubectl.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		n       int
		perItem bool
	}{{1000, false}, {10000, false}, {1000, true}} {
		name := fmt.Sprintf("list/%d", tc.n)
		if tc.perItem {
			name = fmt.Sprintf("get/%d", tc.n)
		}
		b.Run(name, func(b *testing.B) {
			snap := seedConfigMaps(b, cfg, tc.n)
			var live driftpkg.Live = scanCluster(b, cfg)
			if tc.perItem {
				live = getOnly{live}
			}
			b.ResetTimer()
			for range b.N {
				r, err := driftpkg.Compare(context.Background(), snap, live, driftpkg.Options{Checker: &provenance.Checker{}})
				if err != nil {
					b.Fatal(err)
				}
				if c := r.Count()[driftpkg.Matches]["ConfigMap"]; c != tc.n {
					b.Fatalf("%d ConfigMaps match, want %d: %v", c, tc.n, r.Count())
				}
			}
			b.ReportMetric(float64(tc.n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// getOnly refuses LIST, as RBAC with get alone would: one GET per object.
type getOnly struct{ driftpkg.Live }

func (getOnly) List(context.Context, schema.GroupVersionKind, string) ([]map[string]any, error) {
	return nil, errors.New("list refused")
}

// scanCluster is the scan's reader with serve's client settings.
func scanCluster(b *testing.B, cfg *rest.Config) *driftpkg.Cluster {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 50, 100 // as serve's scanConfig
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		b.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		b.Fatal(err)
	}
	return &driftpkg.Cluster{Client: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

// seedConfigMaps creates n ConfigMaps (until the benchmark ends) and
// returns a snapshot declaring them as they are.
func seedConfigMaps(b *testing.B, cfg *rest.Config, n int) *provenance.Snapshot {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 1000, 1000
	kube, err := kubernetes.NewForConfig(c)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var y strings.Builder
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%05d", i), Namespace: benchNamespace, Labels: map[string]string{"bench": "drift"}},
					Data: map[string]string{"key": "value"}}
				// Already there from the benchmark's previous round: fine.
				if _, err := kube.CoreV1().ConfigMaps(benchNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	b.Cleanup(func() {
		_ = kube.CoreV1().ConfigMaps(benchNamespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "bench=drift"})
	})
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	for i := range n {
		fmt.Fprintf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench-%05d, namespace: %s}\ndata: {key: value}\n", i, benchNamespace)
	}
	return provenancetest.Snapshot(b, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"bench.yaml": y.String()})
}
