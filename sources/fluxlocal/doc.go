// Package fluxlocal renders a directory the way Flux would apply it,
// without a cluster: what `gitgate render --source flux --local DIR`
// prints and what `gitgate check` and `gitgate drift` hold objects to.
//
// It renders the path P of DIR as a Kustomization would (as `flux build
// kustomization --path P` does), with sources/fluxrender, then every
// Kustomization and HelmRelease among the results whose source is a
// GitRepository, reading that source from DIR, and so on down, each once
// (a Kustomization that declares itself, as flux bootstrap's flux-system
// does, or a cycle of them, renders once) and at most MaxDepth levels
// deep. Every GitRepository stands for DIR unless Options.LocalSource
// names the one that does. HelmReleases render with sources/helmchart
// and sources/helmrender: a chart of a GitRepository from DIR, one of a
// HelmRepository or an OCIRepository over the network, from the
// repository objects the rendered roots declare.
//
// What only the cluster knows, it does not guess: Secrets are never read
// from a cluster, so a repository with credentials (secretRef,
// certSecretRef) fails its root unless it is public; valuesFrom and
// substituteFrom read the ConfigMaps and Secrets the rendered roots
// declare (one the agent decrypts with SOPS, or one missing and not
// optional, fails the root); status.history is absent, so a HelmRelease
// renders as a fresh install (revision 1) with the capabilities it is
// given (helmrender.DefaultCapabilities, as `helm template`).
//
// Each Kustomization and HelmRelease is a root of its own (Root), named
// "Kustomization <ns>/<name>" or "HelmRelease <ns>/<name>" as gitgate
// serve names it. A root that fails keeps its error and declares
// nothing; the others render on. Result.Snapshot indexes the roots into
// one provenance.Snapshot, so the client commands judge its objects
// exactly as they judge a Git source's.
//
// It never logs, and never puts a Secret's data into an error.
package fluxlocal
