// Package provenance answers one question: does this object agree with Git
// at the current revision, and if not, where does it differ?
//
// A Syncer follows one ref of a Git repository, renders the manifests under
// the configured paths into an immutable Snapshot and swaps it in atomically.
// Check decides a request against a Snapshot. A revision that cannot be
// fetched, parsed or indexed never replaces the last good Snapshot.
//
// The package knows nothing of HTTP or the admission protocol, and it never
// logs manifest values: Secret data may be among them.
package provenance
