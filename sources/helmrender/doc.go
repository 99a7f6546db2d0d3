// Package helmrender renders a Flux HelmRelease the way helm-controller
// v1.6.x does, so that gitgate declares what the agent applies: the
// values (valuesFrom, then spec.values, with Flux's own
// fluxcd/pkg/chartutil), the release name and namespace, Helm v4's own
// install or upgrade action (capabilities, schema validation,
// dependencies, hooks, the post-render strategy), helm-controller's
// post-renderers (kustomize patches and images, commonMetadata, its
// helm.toolkit.fluxcd.io labels), what Helm's client adds before it
// applies (the release namespace, managed-by and meta.helm.sh metadata),
// and the chart's CRDs by the install or upgrade CRD policy.
//
// It is pure: the chart, the values and the cluster's capabilities come
// in (sources/helmchart fetches charts; ComposeValues reads ConfigMaps and
// Secrets by name through the reader it is given), and Helm runs in
// dry-run against a client that applies nothing. What a render cannot
// know it says: fields that differ between two renders (random values,
// the clock, generated certificates) are Object.Indeterminate, objects
// whose template called lookup are Object.Lookup, hooks and tests are
// transient (Result.Hooks), and Result.Check compares the render's chart
// version and config digest with status.history[0], the release
// helm-controller made, so a caller knows whether the cluster holds this
// render.
//
// It never logs, and never puts values that may come from a Secret into
// an error.
package helmrender
