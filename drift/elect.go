package drift

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Lease timings of the drift scan's election. The leader renews every 5
// s; another replica takes over at most LeaseDuration plus a retry (about
// 36 s) after the leader last renewed. The scan runs every few minutes, so
// that is soon enough.
const (
	DefaultLeaseDuration = 30 * time.Second
	DefaultRenewDeadline = 20 * time.Second
	DefaultRetryPeriod   = 5 * time.Second
)

// Elected runs the Scanner on one replica at a time: the holder of a Lease.
// Every replica serves admission, but one scan is enough for the cluster;
// N replicas scanning would LIST every declared kind N times and write the
// same status ConfigMap N times. A replica that loses the Lease stops
// scanning, drops its gitgate_drift_objects figures (so the replica that
// scans now is the only one reporting) and stands again; the process goes
// on serving admission throughout, unlike controller-runtime's manager,
// which exits when it loses its Lease.
type Elected struct {
	Scanner *Scanner
	// Leases, Namespace and Name locate the Lease; Identity names this
	// replica in it.
	Leases          coordinationv1client.LeasesGetter
	Namespace, Name string
	Identity        string
	// LeaseDuration, RenewDeadline and RetryPeriod default to the
	// Default... constants when zero.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       logr.Logger
}

// Start stands for the Lease until ctx ends, scanning while it holds it.
// The Lease is never released, only left to expire: client-go releases it
// before it stops the code it guards, so a released Lease could be taken
// while the old holder still scans. A leader that cannot renew stops
// scanning at RenewDeadline, before any other replica may take the Lease
// at LeaseDuration.
func (e *Elected) Start(ctx context.Context) error {
	registerLeading()
	// client-go logs the election (errors reading the Lease, say) through
	// the context's logger: gitgate's.
	ctx = klog.NewContext(ctx, e.Log)
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(e.config())
		if err != nil {
			return fmt.Errorf("drift scan election: %w", err)
		}
		elector.Run(ctx) // returns when ctx ends or the Lease is lost
	}
	return nil
}

func (e *Elected) config() leaderelection.LeaderElectionConfig {
	// mu orders the two callbacks: the elector starts the scan on its own
	// goroutine and may call OnStoppedLeading before that goroutine runs.
	var (
		mu       sync.Mutex
		scanning sync.WaitGroup
		led      bool // this round started the scan
	)
	return leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Client:     e.Leases,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
		},
		LeaseDuration: orDefault(e.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline: orDefault(e.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:   orDefault(e.RetryPeriod, DefaultRetryPeriod),
		Name:          e.Namespace + "/" + e.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				mu.Lock()
				if ctx.Err() != nil {
					mu.Unlock()
					return // already lost
				}
				scanning.Add(1)
				defer scanning.Done()
				led = true
				leading.Set(1)
				mu.Unlock()
				e.Log.Info("this replica holds the Lease and scans", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
				_ = e.Scanner.Start(ctx) // returns when ctx ends
			},
			OnStoppedLeading: func() {
				// The scan's context is cancelled by now; wait for the scan,
				// so none of its figures lands after they are dropped.
				mu.Lock()
				defer mu.Unlock()
				scanning.Wait()
				if led {
					e.Log.Info("this replica stopped scanning: it no longer holds the Lease", "lease", e.Namespace+"/"+e.Name)
				}
				leading.Set(0)
				forget()
			},
		},
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
