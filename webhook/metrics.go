package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_admission_decisions_total",
		Help: "Admission requests decided, by operation, decision and reason.",
	}, []string{"operation", "decision", "reason"})
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

func observe(operation, decision, reason string, start time.Time) {
	decisions.WithLabelValues(operation, decision, reason).Inc()
	decisionSeconds.WithLabelValues(operation).Observe(time.Since(start).Seconds())
}
