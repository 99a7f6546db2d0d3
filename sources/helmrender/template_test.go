package helmrender_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/sources/helmrender"
)

// TestTemplateCapabilities: helm template's --kube-version and
// --api-versions, over Helm's defaults.
func TestTemplateCapabilities(t *testing.T) {
	def := helmrender.DefaultCapabilities()
	cases := []struct {
		name                  string
		kubeVersion           string
		apiVersions           []string
		version, major, minor string
		has                   []string
		wantErr               string
	}{
		{name: "defaults", version: def.Version, major: def.Major, minor: def.Minor, has: []string{"apps/v1"}},
		{name: "a version without v", kubeVersion: "1.37.2", version: "v1.37.2", major: "1", minor: "37"},
		{name: "a provider's version", kubeVersion: "v1.33.4-gke.1245000", version: "v1.33.4-gke.1245000", major: "1", minor: "33"},
		{name: "extra API versions", apiVersions: []string{"cert-manager.io/v1", "monitoring.coreos.com/v1/ServiceMonitor", "apps/v1"},
			version: def.Version, major: def.Major, minor: def.Minor, has: []string{"cert-manager.io/v1", "monitoring.coreos.com/v1/ServiceMonitor"}},
		{name: "not a version", kubeVersion: "one", wantErr: `kube version "one"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := helmrender.TemplateCapabilities(c.kubeVersion, c.apiVersions)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != c.version || got.Major != c.major || got.Minor != c.minor {
				t.Errorf("version %s (%s.%s), want %s (%s.%s)", got.Version, got.Major, got.Minor, c.version, c.major, c.minor)
			}
			for _, v := range append(c.has, def.APIVersions...) {
				if !slices.Contains(got.APIVersions, v) {
					t.Errorf("API versions lack %s", v)
				}
			}
			if n := len(got.APIVersions); n != len(def.APIVersions)+len(c.has) && c.apiVersions != nil {
				t.Errorf("%d API versions, want the %d defaults and %d more, each once", n, len(def.APIVersions), len(c.has))
			}
		})
	}
}
