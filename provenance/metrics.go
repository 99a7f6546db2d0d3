package provenance

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Root metrics are labelled by source and root name: their number is set
// by configuration (paths, sources, Kustomizations), never by requests.
var (
	rootFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_root_sync_failures_total",
		Help: "Failures to bring a root to its source's current revision; the root's last good revision stayed in force.",
	}, []string{"source", "root"})
	rootLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitgate_root_last_success_timestamp_seconds",
		Help: "Unix time a root was last loaded or confirmed unchanged.",
	}, []string{"source", "root"})
	rootConflicts = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_root_conflicts",
		Help: "Objects declared by more than one root in the snapshot in force; the root that declared each first keeps it.",
	})
)

func init() {
	metrics.Registry.MustRegister(rootFailures, rootLastSuccess, rootConflicts)
}
