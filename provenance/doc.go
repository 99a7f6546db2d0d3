// Package provenance is gitgate's core: it answers one question, does this
// object agree with Git at the current revision, and if not, where does it
// differ?
//
// It holds the value types the rest share (Key, Revision, Root, Entry,
// File), the Indexer that turns a root's rendered files into its Index,
// the Composer that merges the last good Index of every root (its Part)
// into an immutable Snapshot, the Store that swaps Snapshots atomically,
// and the Checker that decides a Request against a Snapshot. Getting files
// out of Git, Flux or anything else is the job of the packages under
// sources/, which import this package, never the reverse: the webhook
// depends on this package alone and so on nothing of Git, kustomize,
// Helm or OpenPGP.
//
// The package knows nothing of HTTP or the admission protocol, and it never
// logs manifest values: Secret data may be among them.
package provenance
