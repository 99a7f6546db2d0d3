package receiver

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of a notification, the values of the result label.
const (
	resultTriggered    = "triggered"
	resultIgnored      = "ignored"
	resultUnauthorized = "unauthorized"
	resultBadMethod    = "method_not_allowed"
	resultBadRequest   = "bad_request"
	resultTooLarge     = "too_large"
)

var requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "gitgate_receiver_requests_total",
	Help: "Push notifications received, by sender (github, gitlab, generic, unknown) and result.",
}, []string{"sender", "result"})

func init() { metrics.Registry.MustRegister(requests) }
