package audit

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	recordsWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_audit_records_total",
		Help: "Audit records written, by sink (log, file, event) and decision.",
	}, []string{"sink", "decision"})
	recordsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gitgate_audit_records_dropped_total",
		Help: "Audit records dropped because the queue was full; the admission decision was not delayed.",
	})
	writeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_audit_write_errors_total",
		Help: "Audit records a sink failed to write, by sink.",
	}, []string{"sink"})
	eventsSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_audit_events_skipped_total",
		Help: "Records that got no Kubernetes Event, by reason: about-an-event (never an Event about an Event) or rate-limited (the global Event rate was spent). The record itself is written to the other sinks.",
	}, []string{"reason"})
	queueLength = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_audit_queue_length",
		Help: "Audit records waiting to be written.",
	})
)

func init() {
	metrics.Registry.MustRegister(recordsWritten, recordsDropped, writeErrors, eventsSkipped, queueLength)
}
