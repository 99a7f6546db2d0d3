package cli

import (
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// What -ldflags -X sets is what version prints and the metric holds.
func TestVersionFromLinkerFlags(t *testing.T) {
	saved := [3]string{version, commit, date}
	defer func() { version, commit, date = saved[0], saved[1], saved[2] }()
	version, commit, date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-11-26T12:00:00Z"

	code, stdout, _ := runCLI(t, "", "version")
	want := "gitgate v1.2.3\ncommit: 0123456789abcdef0123456789abcdef01234567\nbuilt: 2026-11-26T12:00:00Z\ngo: go1."
	if code != 0 || !strings.HasPrefix(stdout, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant prefix:\n%s", code, stdout, want)
	}

	if err := registerBuildInfo(); err != nil {
		t.Fatal(err)
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gitgate_build_info" {
			continue
		}
		m := f.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if m.GetGauge().GetValue() != 1 || labels["version"] != "v1.2.3" || labels["commit"] != commit || labels["date"] != date || !strings.HasPrefix(labels["goversion"], "go1.") {
			t.Errorf("gitgate_build_info = %v %v", labels, m.GetGauge().GetValue())
		}
		return
	}
	t.Error("gitgate_build_info is not registered")
}
