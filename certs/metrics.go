package certs

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	certificateExpiry = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_certificate_expiry_timestamp_seconds",
		Help: "Unix time at which the serving certificate this replica serves expires.",
	})
	rotationSteps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_certificate_rotation_steps_total",
		Help: "Self-managed certificate steps this replica took, by step (stage, publish, mark-trusted, promote, prune, distrust).",
	}, []string{"step"})
	syncErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gitgate_certificate_sync_errors_total",
		Help: "Self-managed certificate reconciles that failed and were retried.",
	})
)

func init() {
	metrics.Registry.MustRegister(certificateExpiry, rotationSteps, syncErrors)
}
