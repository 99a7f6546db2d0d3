// Package fluxrender renders a Flux Kustomization the way
// kustomize-controller v1.9.6 does, so that gitgate declares what Flux
// applies rather than what a plain `kustomize build` of the folder gives.
//
// It runs Flux's own code (github.com/fluxcd/pkg/kustomize, the version
// whose code kustomize-controller v1.9.6 builds with, on kustomize v5.8.1):
// the generator writes or merges kustomization.yaml with the
// Kustomization's targetNamespace, namePrefix/nameSuffix, patches, images
// and components; the build runs with load restrictions off but confined to
// the source root and with built-in plugins only; then, object by object,
// postBuild substitution (substitute and substituteFrom), and at last what
// kustomize-controller does before it applies: normalization,
// commonMetadata and its owner labels.
//
// It is pure: it reads the source from an fs.FS and the substituteFrom
// ConfigMaps and Secrets through the client.Reader it is given, and never
// fetches Git, calls the network or runs a binary. It refuses remote bases
// (Flux would fetch them; gitgate renders from the source alone). It never
// keeps the data of a Secret whose values the agent decrypts (SOPS): such
// an object is returned as its identity only, marked AgentOnly.
//
// Ignore filters a source's files as source-controller does before it
// archives them (.sourceignore files and the GitRepository's spec.ignore).
package fluxrender
