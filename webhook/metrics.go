package webhook

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

var (
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_admission_decisions_total",
		Help: "Admission requests decided, by operation, decision, reason, the caller's identity class and whether the request was a dry run.",
	}, []string{"operation", "decision", "reason", "class", "dry_run"})
	decisionSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gitgate_admission_decision_duration_seconds",
		Help: "Time to decide one admission request, from decoded request to response.",
		// From 50µs (most decisions are far under the API server's 5ms
		// bucket) to 6.55s, past the webhook's 5s timeout, so that slow
		// decisions show and GitgateSlowDecisions (p99 > 0.5s) can fire.
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
	}, []string{"operation"})
)

func init() {
	metrics.Registry.MustRegister(decisions, decisionSeconds)
}

// observe counts one decision d on req, nil when the request could not be
// read (operation and dry_run are then empty). Every label has a handful
// of values: no user, object or namespace ever becomes one.
func observe(req *admission.Request, d *Decision, start time.Time) {
	operation, dryRun := "", ""
	if req != nil {
		operation, dryRun = string(req.Operation), strconv.FormatBool(req.DryRun != nil && *req.DryRun)
	}
	decisions.WithLabelValues(operation, d.Outcome, string(d.Reason), string(d.Class), dryRun).Inc()
	decisionSeconds.WithLabelValues(operation).Observe(time.Since(start).Seconds())
}
