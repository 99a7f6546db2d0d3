// Package breakglass holds gitgate's emergency exceptions: time-bounded
// grants that let named users or groups past the Git check, kept in one
// ConfigMap in gitgate's namespace and watched, plus the permanent
// emergency identities set by flag.
//
// It answers one question at decision time: does a grant cover this caller
// in this namespace now? Expiry is checked at that moment, so a grant stops
// working at its expiresAt with no reload. It must never let a malformed
// or over-long grant take effect, and never let one bad entry disable the
// others.
package breakglass
