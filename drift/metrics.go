package drift

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// objects is labelled by state and kind: the kinds Git declares, a
	// handful, never an object's name or namespace.
	objects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitgate_drift_objects",
		Help: "Declared objects by drift state (missing, differs, matches, unreadable, unverifiable) and kind, at the last successful drift scan.",
	}, []string{"state", "kind"})
	// lastScan has no labels; a vector, so a replica that stops scanning
	// can drop it.
	lastScan = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitgate_drift_last_scan_timestamp_seconds",
		Help: "When the last successful drift scan finished, in seconds since the epoch; only on the replica that scans.",
	}, nil)
	leading = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_drift_scan_leader",
		Help: "1 on the replica that holds the drift scan's Lease and scans, 0 on the others; absent when the scan is off.",
	})
	registerLeadingOnce sync.Once
	scans               = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_drift_scans_total",
		Help: "Drift scans, by result (success or error).",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(objects, lastScan, scans)
}

// registerLeading exports gitgate_drift_scan_leader, once the scan is on:
// an alert on no replica leading must not fire where it is off.
func registerLeading() {
	registerLeadingOnce.Do(func() { metrics.Registry.MustRegister(leading) })
}

// forget drops the figures of the last scan.
func forget() {
	objects.Reset()
	lastScan.Reset()
}

// observe replaces the figures with those of r, so a kind Git no longer
// declares disappears.
func observe(r *Report, at time.Time) {
	objects.Reset()
	for state, kinds := range r.Count() {
		for kind, n := range kinds {
			objects.WithLabelValues(string(state), kind).Set(float64(n))
		}
	}
	lastScan.WithLabelValues().Set(float64(at.Unix()))
}
