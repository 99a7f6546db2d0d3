package webhook

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TestSlowDecisionsLandInFiniteBuckets: a decision up to the webhook's
// 5s timeout is counted in a bucket below +Inf, so a 99th percentile
// above 0.5s is measurable and GitgateSlowDecisions can fire.
func TestSlowDecisionsLandInFiniteBuckets(t *testing.T) {
	req := &admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Operation: "CONNECT"}}
	for _, d := range []time.Duration{600 * time.Millisecond, 2 * time.Second, 4900 * time.Millisecond} {
		t.Run(d.String(), func(t *testing.T) {
			before := bucketCounts(t)
			observe(req, &Decision{Allowed: true, Outcome: outcomeAllowed, Reason: reasonAgent, Class: Agent}, time.Now().Add(-d))
			after := bucketCounts(t)
			grew := false
			for le, n := range after {
				if le >= d.Seconds() && n > before[le] {
					grew = true
				}
			}
			if !grew {
				t.Errorf("a %s decision grew no finite bucket at or above it: buckets %v", d, after)
			}
		})
	}
}

// bucketCounts are the cumulative counts of the CONNECT series' finite
// buckets, by upper bound.
func bucketCounts(t *testing.T) map[float64]uint64 {
	t.Helper()
	var m dto.Metric
	if err := decisionSeconds.WithLabelValues("CONNECT").(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
		t.Fatal(err)
	}
	out := map[float64]uint64{}
	for _, b := range m.GetHistogram().GetBucket() {
		out[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	return out
}
