// Package gitsync keeps the roots (paths) of one Git source at their
// latest good revision in a provenance.Composer: on a timer and on push
// notifications it resolves the ref, fetches the commit, verifies its
// signature, then renders and indexes each root on its own. Load reads a
// commit's roots once the same way, for the client commands.
//
// A revision that cannot be fetched or verified changes no root; one that
// a root cannot render or index leaves that root at its last good
// revision while the others move on. Failures are counted by reason and
// logged with the root and revision, never with manifest values.
package gitsync
