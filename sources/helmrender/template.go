package helmrender

import (
	"fmt"

	"helm.sh/helm/v4/pkg/chart/common"
)

// TemplateCapabilities are the capabilities `helm template` renders with
// for its --kube-version and --api-versions flags: DefaultCapabilities,
// with kubeVersion ("v1.33.4", "1.33", "v1.33.4-gke.1") parsed as Helm
// parses it when set, and apiVersions ("cert-manager.io/v1",
// "monitoring.coreos.com/v1/ServiceMonitor") added to the version set.
func TemplateCapabilities(kubeVersion string, apiVersions []string) (Capabilities, error) {
	c := DefaultCapabilities()
	if kubeVersion != "" {
		kv, err := common.ParseKubeVersion(kubeVersion)
		if err != nil {
			return Capabilities{}, fmt.Errorf("kube version %q: %w", kubeVersion, err)
		}
		c.Version, c.Major, c.Minor = kv.Version, kv.Major, kv.Minor
	}
	set := common.VersionSet(append([]string(nil), c.APIVersions...))
	for _, v := range apiVersions {
		if v != "" && !set.Has(v) {
			set = append(set, v)
		}
	}
	c.APIVersions = set
	return c, nil
}
