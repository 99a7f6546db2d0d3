package helmrender

import (
	"errors"
	"fmt"

	helmaction "helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/client-go/discovery"
)

// Capabilities are what .Capabilities tells templates about the cluster.
type Capabilities struct {
	// Version, Major and Minor are the API server's version as discovery
	// reports it (gitVersion "v1.33.4-gke.1", "1", "33").
	Version, Major, Minor string
	// APIVersions are the group versions the server serves and each
	// "group/version/Kind", as Helm's action.GetVersionSet lists them.
	APIVersions []string
}

// CapabilitiesFrom asks the API server what helm-controller's Helm asks
// before each render (action.Configuration.getCapabilities): its version
// and the version set, an orphaned API service's group left out.
func CapabilitiesFrom(dc discovery.DiscoveryInterface) (Capabilities, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return Capabilities{}, fmt.Errorf("server version: %w", err)
	}
	set, err := helmaction.GetVersionSet(dc)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return Capabilities{}, err
	}
	return Capabilities{Version: v.GitVersion, Major: v.Major, Minor: v.Minor, APIVersions: set}, nil
}

// DefaultCapabilities are Helm's own, for a render with no cluster at
// hand (`helm template`): the Kubernetes version of the client-go Helm is
// built with and every group version client-go knows.
func DefaultCapabilities() Capabilities {
	d := common.DefaultCapabilities
	return Capabilities{Version: d.KubeVersion.Version, Major: d.KubeVersion.Major, Minor: d.KubeVersion.Minor, APIVersions: d.APIVersions}
}

var errNoCapabilities = errors.New("no Kubernetes version in Capabilities")

// helm builds Helm's Capabilities as getCapabilities does (KubeVersion
// from the version fields alone, Helm's own build info) with the chart's
// CRD versions added: helm-controller applies crds/ before Helm asks
// discovery, so they are served by then.
func (c Capabilities) helm(extra []string) (*common.Capabilities, error) {
	if c.Version == "" {
		return nil, errNoCapabilities
	}
	set := make(common.VersionSet, 0, len(c.APIVersions)+len(extra))
	set = append(set, c.APIVersions...)
	for _, v := range extra {
		if !set.Has(v) {
			set = append(set, v)
		}
	}
	return &common.Capabilities{
		APIVersions: set,
		KubeVersion: common.KubeVersion{Version: c.Version, Major: c.Major, Minor: c.Minor},
		HelmVersion: common.DefaultCapabilities.HelmVersion,
	}, nil
}
