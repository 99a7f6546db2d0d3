// Package gitsync keeps a provenance.Store holding the Snapshot of the
// latest good revision of a Git source: on a timer and on push
// notifications it resolves the ref, fetches the commit, verifies its
// signature, renders and indexes it, and swaps the Snapshot in.
//
// A revision that cannot be fetched, verified, rendered or indexed never
// replaces the last good Snapshot; the failure is counted by reason and
// logged with the revision, never with manifest values.
package gitsync
