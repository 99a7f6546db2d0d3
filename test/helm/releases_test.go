package helm

import (
	"fmt"
	"strings"

	"github.com/gitgate/gitgate/test/harness"
)

// release is one HelmRelease Git declares in shop, and what its release
// must be once helm-controller has installed it.
type release struct {
	name string
	// source is the kind of the chart's source: kubectl's name for the
	// object that turns Ready once the chart is fetched.
	sourceKind, sourceName string
	chart, version         string
	// values are the values helm-controller installs with: spec.values
	// merged with valuesFrom. Their digest is history[0].configDigest.
	values map[string]any
	// deployment is a Deployment the chart renders.
	deployment string
	// spec is the HelmRelease's spec below chart.spec.sourceRef.
	spec string
}

// releases are the three HelmReleases: podinfo from the Helm repository
// over HTTP; shopfront from the OCI registry, with valuesFrom and
// targetPath, commonMetadata and a post-renderer; and shopfront from Git.
func releases() []release {
	return []release{{
		name: "podinfo", sourceKind: "helmrepository", sourceName: "charts",
		chart: "podinfo", version: "6.9.2",
		values:     map[string]any{"replicaCount": 2},
		deployment: "podinfo",
		spec: `      chart: podinfo
      version: "6.9.2"
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
  values:
    replicaCount: 2
`,
	}, {
		// An OCI HelmRepository keeps no artifact: the HelmChart
		// helm-controller creates for the release pulls the chart.
		name: "shopfront", sourceKind: "helmchart", sourceName: shop + "-shopfront",
		chart: "shopfront", version: "0.1.0",
		values:     map[string]any{"replicaCount": 2, "greeting": "hola"},
		deployment: "shopfront",
		spec: `      chart: shopfront
      version: "0.1.0"
      sourceRef: {kind: HelmRepository, name: charts-oci, namespace: flux-system}
  values:
    replicaCount: 2
  valuesFrom:
  - {kind: ConfigMap, name: shopfront-values, valuesKey: greeting, targetPath: greeting}
  commonMetadata:
    labels: {team: shop}
  postRenderers:
  - kustomize:
      patches:
      - target: {kind: Deployment, name: shopfront}
        patch: |
          apiVersion: apps/v1
          kind: Deployment
          metadata:
            name: shopfront
            annotations:
              shop.example.com/post-rendered: "true"
`,
	}, {
		name: "shopfront-git", sourceKind: "gitrepository", sourceName: fleet,
		chart: "shopfront", version: "0.1.0",
		values:     map[string]any{"greeting": "from-git"},
		deployment: "shopfront-git",
		spec: `      chart: ./charts/shopfront
      sourceRef: {kind: GitRepository, name: fleet, namespace: flux-system}
  values:
    greeting: from-git
`,
	}}
}

// helmReleaseYAML is a HelmRelease in shop: name, then the rest of its
// chart.spec and spec. There are no kubelets here, so nothing it installs
// would turn ready: helm-controller does not wait for it.
const helmReleaseYAML = `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: %s, namespace: shop}
spec:
  interval: 1m
  timeout: 1m
  install: {disableWait: true}
  upgrade: {disableWait: true}
  chart:
    spec:
      interval: 1m
%s`

// valuesConfigMap holds shopfront's greeting, read through valuesFrom.
const valuesConfigMap = `---
apiVersion: v1
kind: ConfigMap
metadata: {name: shopfront-values, namespace: shop}
data: {greeting: hola}
`

// helmYAML is the file Git declares next to the shop namespace: both Helm
// repositories, the values ConfigMap and the HelmReleases.
func helmYAML(rs []release) string {
	var b strings.Builder
	b.WriteString(env.repo.HelmRepository(harness.FluxNamespace, "charts"))
	b.WriteString("---\n")
	b.WriteString(env.oci.HelmRepository(harness.FluxNamespace, "charts-oci"))
	b.WriteString(valuesConfigMap)
	for _, r := range rs {
		fmt.Fprintf(&b, helmReleaseYAML, r.name, r.spec)
	}
	return b.String()
}
