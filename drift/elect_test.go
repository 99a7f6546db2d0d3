package drift

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"

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

func standFor(t *testing.T, leases coordinationv1client.LeasesGetter, id string) *candidate {
	t.Helper()
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	c := &candidate{id: id, status: &countingStatus{}, done: make(chan error, 1)}
	e := &Elected{
		Scanner: &Scanner{
			Interval: 20 * time.Millisecond, Snapshots: fixedSnap{snap},
			Live: &fakeLive{}, Checker: &provenance.Checker{}, Status: c.status,
		},
		Leases: leases, Namespace: "gitgate-system", Name: "gitgate-drift", Identity: id,
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
// stops the other takes over once the Lease expires.
func TestElectedScansOnOneReplicaAtATime(t *testing.T) {
	leases := fake.NewClientset()
	a, b := standFor(t, leases.CoordinationV1(), "replica-a"), standFor(t, leases.CoordinationV1(), "replica-b")
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
	// Left to expire, never released: client-go would release it before
	// the scan stops.
	if h := holder(t, leases); h != leader.id {
		t.Fatalf("%s released the Lease (now held by %q)", leader.id, h)
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
	c := standFor(t, leases.CoordinationV1(), "replica-a")
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
	for name, v := range map[string]*prometheus.GaugeVec{"gitgate_drift_objects": objects, "gitgate_drift_last_scan_timestamp_seconds": lastScan} {
		ch := make(chan prometheus.Metric, 100)
		v.Collect(ch)
		if n := len(ch); n != 0 {
			t.Errorf("%s keeps %d series after the replica stopped leading", name, n)
		}
	}
}

// flakyLeases fails every call on Leases while failing is set: an API
// server the replica cannot reach.
type flakyLeases struct {
	coordinationv1client.LeasesGetter
	failing *atomic.Bool
}

func (f flakyLeases) Leases(namespace string) coordinationv1client.LeaseInterface {
	return flakyLease{f.LeasesGetter.Leases(namespace), f.failing}
}

type flakyLease struct {
	coordinationv1client.LeaseInterface
	failing *atomic.Bool
}

var errUnreachable = errors.New("the API server cannot be reached")

func (f flakyLease) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	if f.failing.Load() {
		return nil, errUnreachable
	}
	return f.LeaseInterface.Get(ctx, name, opts)
}

func (f flakyLease) Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if f.failing.Load() {
		return nil, errUnreachable
	}
	return f.LeaseInterface.Create(ctx, l, opts)
}

func (f flakyLease) Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if f.failing.Load() {
		return nil, errUnreachable
	}
	return f.LeaseInterface.Update(ctx, l, opts)
}

// A leader that cannot renew its Lease stops scanning by RenewDeadline
// (before another replica could take the Lease), and stands again: when
// the API server is back it holds the Lease and scans once more.
func TestElectedStopsWhenItCannotRenewAndStandsAgain(t *testing.T) {
	var failing atomic.Bool
	c := standFor(t, flakyLeases{fake.NewClientset().CoordinationV1(), &failing}, "replica-a")
	waitFor(t, "the replica scans", func() bool { return c.status.n.Load() > 0 && gauge(t, leading) == 1 })

	failing.Store(true)
	waitFor(t, "the replica stops leading", func() bool { return gauge(t, leading) == 0 })
	stoppedAt := c.status.n.Load()
	time.Sleep(200 * time.Millisecond) // ten scan intervals
	if n := c.status.n.Load(); n != stoppedAt {
		t.Fatalf("the replica scanned %d times after it stopped leading", n-stoppedAt)
	}

	failing.Store(false)
	waitFor(t, "the replica leads and scans again", func() bool { return gauge(t, leading) == 1 && c.status.n.Load() > stoppedAt })
}
