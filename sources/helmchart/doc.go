// Package helmchart gets the chart of a Flux HelmRelease the way
// source-controller v1.9.x builds it and helm-controller v1.6.x loads it,
// without trusting either: gitgate reads the chart from the source itself
// (a GitRepository's files at the revision gitgate fetched, a
// HelmRepository's index and archive over HTTP, an OCI registry), never
// from source-controller's artifact URL, and says what source-controller's
// artifact must then hold (Chart.CheckArtifact).
//
// It reproduces what changes the chart helm-controller renders: values
// files merged into values.yaml, the version's build metadata
// (+<generation>, +<commit>, +<OCI digest>), .helmignore, file://
// dependencies of the same source. It refuses what it cannot fetch from
// the source alone: a Bucket, a dependency from a remote repository, a
// cloud provider's workload identity (ErrUnsupported,
// ErrRemoteDependency). It verifies no signatures (spec.verify).
//
// It reads Secrets one by one, by name, through the reader it is given,
// and never logs or returns their data.
package helmchart
