package gitsync

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/gitgate/gitgate/provenance"
)

var (
	revisionInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitgate_git_revision_info",
		Help: "The Git revisions being enforced (value 1), one series per revision some root is at.",
	}, []string{"revision"})
	lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_git_last_sync_success_timestamp_seconds",
		Help: "Unix time of the last sync that confirmed or loaded the current revision.",
	})
	syncFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_git_sync_failures_total",
		Help: "Syncs that failed, by reason; the last good revision stayed in force.",
	}, []string{"reason"})
	objectsIndexed = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_git_objects_indexed",
		Help: "Objects declared at the revision being enforced.",
	})
	syncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gitgate_git_sync_duration_seconds",
		Help:    "Time to check the remote and, when it moved, load the new revision.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
)

func init() {
	metrics.Registry.MustRegister(revisionInfo, lastSuccess, syncFailures, objectsIndexed, syncDuration)
}

func observeSync(start time.Time, err error, snap *provenance.Snapshot) {
	syncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		reason := "other"
		var se *SyncError
		if errors.As(err, &se) {
			reason = string(se.Reason)
		}
		syncFailures.WithLabelValues(reason).Inc()
	} else {
		lastSuccess.SetToCurrentTime()
	}
	if snap != nil {
		// One series per revision some root enforces: roots that failed
		// stay at theirs while the others move on.
		revisionInfo.Reset()
		for _, st := range snap.Roots() {
			revisionInfo.WithLabelValues(st.Revision.String()).Set(1)
		}
		objectsIndexed.Set(float64(snap.Len()))
	}
}
