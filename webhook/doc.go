// Package webhook speaks the admission protocol for gitgate. It places the
// caller in an identity class (exempt, agent, controller, person), skips
// cluster infrastructure Git never declares, asks provenance whether an
// object agrees with Git, and turns the verdict into an admission response
// people can act on. Handler.Decide gives that decision as a plain value
// (gitgate check prints it); Handler.Handle observes it once in the
// metrics and answers with it.
//
// It stays thin: identity and skipped resources come first and cost no Git
// lookup, and all knowledge of Git and manifests lives in package
// provenance. It must never put Secret data into a message, a log line or
// a metric, nor a user or an object name into a metric label.
package webhook
