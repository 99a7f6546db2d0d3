package drift

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// countingStatus counts the reports a replica writes.
type countingStatus struct{ n atomic.Int64 }

func (c *countingStatus) Write(context.Context, *Report, time.Time) error {
	c.n.Add(1)
	return nil
}

// candidate is one replica standing for the drift scan's Lease.
type candidate struct {
	id     string
	status *countingStatus
	cancel context.CancelFunc
	done   chan error
}

func standFor(t *testing.T, leases kubernetes.Interface, id string) *candidate {
	t.Helper()
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	c := &candidate{id: id, status: &countingStatus{}, done: make(chan error, 1)}
	e := &Elected{
		Scanner: &Scanner{
			Interval: 20 * time.Millisecond, Snapshots: fixedSnap{snap},
			Live: &fakeLive{}, Checker: &provenance.Checker{}, Status: c.status,
		},
		Leases: leases.CoordinationV1(), Namespace: "gitgate-system", Name: "gitgate-drift", Identity: id,
		// Short, so the test is quick; renewals never come near the
		// deadline against the fake API.
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 100 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- e.Start(ctx) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *candidate) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("replica %s: Start = %v", c.id, err)
		}
		c.done <- nil // stop is idempotent
	case <-time.After(10 * time.Second):
		t.Fatalf("replica %s did not stop", c.id)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func holder(t *testing.T, leases kubernetes.Interface) string {
	t.Helper()
	l, err := leases.CoordinationV1().Leases("gitgate-system").Get(context.Background(), "gitgate-drift", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func gauge(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// Two replicas stand for the Lease: only its holder scans, and when it
// stops (releasing the Lease) the other takes over.
func TestElectedScansOnOneReplicaAtATime(t *testing.T) {
	leases := fake.NewClientset()
	a, b := standFor(t, leases, "replica-a"), standFor(t, leases, "replica-b")
	waitFor(t, "a replica scans", func() bool { return a.status.n.Load() > 0 || b.status.n.Load() > 0 })
	leader, other := a, b
	if b.status.n.Load() > 0 {
		leader, other = b, a
	}
	waitFor(t, "the leader scans five times", func() bool { return leader.status.n.Load() >= 5 })
	if n := other.status.n.Load(); n != 0 {
		t.Fatalf("%s scanned %d times while %s held the Lease", other.id, n, leader.id)
	}
	if h := holder(t, leases); h != leader.id {
		t.Fatalf("Lease held by %q, want %q", h, leader.id)
	}

	leader.stop(t)
	if h := holder(t, leases); h == leader.id {
		t.Fatalf("%s stopped without releasing the Lease", leader.id)
	}
	stoppedAt := leader.status.n.Load()
	waitFor(t, "the other replica takes over", func() bool { return other.status.n.Load() > 0 })
	if h := holder(t, leases); h != other.id {
		t.Errorf("Lease held by %q, want %q", h, other.id)
	}
	if n := leader.status.n.Load(); n != stoppedAt {
		t.Errorf("%s scanned %d more times after it stopped", leader.id, n-stoppedAt)
	}
}

// A replica that stops leading drops its drift figures, so only the
// replica that scans now reports them.
func TestElectedDropsFiguresWhenItStopsLeading(t *testing.T) {
	leases := fake.NewClientset()
	c := standFor(t, leases, "replica-a")
	waitFor(t, "the replica scans", func() bool { return c.status.n.Load() > 0 })
	if gauge(t, leading) != 1 {
		t.Errorf("gitgate_drift_scan_leader = %v while leading, want 1", gauge(t, leading))
	}
	if gauge(t, objects.WithLabelValues("missing", "ConfigMap")) == 0 {
		t.Fatal("no drift figures while leading")
	}
	c.stop(t)
	if gauge(t, leading) != 0 {
		t.Errorf("gitgate_drift_scan_leader = %v after it stopped, want 0", gauge(t, leading))
	}
	ch := make(chan prometheus.Metric, 100)
	objects.Collect(ch)
	if n := len(ch); n != 0 {
		t.Errorf("gitgate_drift_objects keeps %d series after the replica stopped leading", n)
	}
}
