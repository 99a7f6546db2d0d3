// Package webhook speaks the admission protocol for gitgate. It decides who
// is exempt, asks provenance whether an object agrees with Git, and turns
// the verdict into an admission response people can act on.
//
// It stays thin: identity checks come first and cost no Git lookup, and all
// knowledge of Git and manifests lives in package provenance. It must never
// put Secret data into a message, a log line or a metric.
package webhook
