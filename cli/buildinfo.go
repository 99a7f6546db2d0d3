package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Set at build time, in this package (the Dockerfile does):
//
//	go build -ldflags "-X github.com/gitgate/gitgate/cli.version=v1.2.3 \
//	  -X github.com/gitgate/gitgate/cli.commit=$(git rev-parse HEAD) \
//	  -X github.com/gitgate/gitgate/cli.date=$(date -u +%FT%TZ)" github.com/gitgate/gitgate
//
// Without them, commit and date come from the VCS stamp Go embeds when it
// builds in a Git checkout.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// buildInfo is what `gitgate version` prints and gitgate_build_info holds.
type buildInfo struct {
	Version, Commit, Date, GoVersion string
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("gitgate %s\ncommit: %s\nbuilt: %s\ngo: %s\n", b.Version, b.Commit, b.Date, b.GoVersion)
}

// registerBuildInfo exports gitgate_build_info: a constant 1 whose labels
// name the build, as Prometheus' own *_build_info metrics do.
func registerBuildInfo() error {
	b := currentBuild()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "gitgate_build_info",
		Help:        "A metric with a constant value 1, labelled by the version, commit, build date and Go version gitgate was built with.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "date": b.Date, "goversion": b.GoVersion},
	})
	g.Set(1)
	return metrics.Registry.Register(g)
}
