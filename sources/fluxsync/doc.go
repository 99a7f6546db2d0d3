// Package fluxsync is the source driver of `gitgate serve --source flux`:
// it watches Flux GitRepository, OCIRepository and Kustomization objects and keeps each
// Kustomization as one root of a provenance.Composer, and each HelmRelease
// too (helm.go): its chart fetched by gitgate itself (helmchart), checked
// against source-controller's artifact, rendered with helmrender as
// helm-controller made its latest release and declared only once the
// render agrees with status.history[0]. A HelmRelease's valuesFrom are
// its inputs, its spec.serviceAccountName the root's own agent
// (Composer.SetAgents), and Helm's records of its release (Secrets
// labelled owner=helm, name=<release>) the agent's alone
// (Composer.SetClaims).
//
// gitgate fetches each GitRepository itself (its URL, ref, secretRef
// credentials, ignore rules and verify keys) and renders each
// Kustomization at that revision with fluxrender, exactly as
// kustomize-controller would. It never trusts source-controller's
// artifact: a change the cluster's Flux objects point at is read from Git.
//
// A Kustomization of an OCIRepository (oci.go) is rendered the same way
// from the artifact gitgate pulls itself with helmchart.PullOCI (the
// reference as source-controller resolves it, the manifest and layer
// digest-checked, the layer unpacked and, for operation extract,
// filtered by the ignore rules). source-controller's status.artifact must
// name what gitgate pulled (helmchart.CheckArtifact); a mismatch, or
// spec.verify (not supported yet), fails the roots of that OCIRepository.
// They are rendered again only when the manifest digest changes.
//
// A Kustomization is rendered again only when its inputs change: the files
// under its spec.path (or the whole revision when its kustomizations climb
// out with ".."), its spec, its GitRepository's ignore rules, or the data of
// its substituteFrom ConfigMaps and Secrets. A failure of one root (a
// missing GitRepository, an unreadable secretRef, a missing substituteFrom
// that is not optional, a render error) goes to Composer.Fail and leaves
// that root at its last good render; the others move on.
//
// The substituteFrom ConfigMaps and Secrets a Kustomization names are its
// root's inputs (provenance.Input): the watcher hands them to the Composer
// (SetInputs) whenever the Kustomization names others, whether or not its
// render succeeds, and the Checker holds their writes to Git.
//
// It reads Secrets and ConfigMaps one by one, by name, through an uncached
// reader, and never lists or watches them. It never logs Secret data or
// credentials.
package fluxsync
