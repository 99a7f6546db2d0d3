// Package gitsource reads revisions of one remote Git repository with
// go-git, and no git binary: it resolves a ref (branch, tag, semver range
// or commit) to a Revision with ls-remote, fetches only the commit it
// enforces, and keeps memory bounded by dropping objects of earlier
// revisions.
//
// It owns everything about reaching the remote: credentials read from
// files, known_hosts, CA bundles, and redaction. No error, log line or
// denial it produces may carry a password, token or key: errors go through
// redact, URLs through RedactURL.
package gitsource
