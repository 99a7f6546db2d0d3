package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/gitgate/gitgate/provenance"
)

var (
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_admission_decisions_total",
		Help: "Admission requests decided, by operation, decision, reason and the caller's identity class.",
	}, []string{"operation", "decision", "reason", "class"})
	decisionSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gitgate_admission_decision_duration_seconds",
		Help: "Time to decide one admission request, from decoded request to response.",
		// From 50µs: most decisions are far under the API server's 5ms bucket.
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14),
	}, []string{"operation"})
)

func init() {
	metrics.Registry.MustRegister(decisions, decisionSeconds)
}

// observe counts one decision. Every label has a handful of values: no
// user, object or namespace ever becomes one.
func observe(operation, decision string, reason provenance.Reason, class Class, start time.Time) {
	decisions.WithLabelValues(operation, decision, string(reason), string(class)).Inc()
	decisionSeconds.WithLabelValues(operation).Observe(time.Since(start).Seconds())
}
