package breakglass

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// watched is the Store the active-grants gauge reports on.
var watched atomic.Pointer[Store]

var (
	uses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_break_glass_uses_total",
		Help: "Requests let through by break-glass, by kind (grant or permanent).",
	}, []string{"kind"})
	invalidGrants = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_break_glass_invalid_grants",
		Help: "Entries of the break-glass ConfigMap that are ignored because they are invalid.",
	})
	// activeGrants is computed at scrape time, so it falls when a grant
	// expires, not when the ConfigMap next changes.
	activeGrants = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gitgate_break_glass_active_grants",
		Help: "Break-glass grants in force and not yet expired.",
	}, func() float64 {
		if s := watched.Load(); s != nil {
			return float64(s.Active(time.Now()))
		}
		return 0
	})
)

func init() {
	metrics.Registry.MustRegister(uses, invalidGrants, activeGrants)
}
