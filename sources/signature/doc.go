// Package signature verifies commit signatures, OpenPGP and SSH, as git
// writes them. Verifiers are pure functions of bytes: they see a Commit
// value (hash, armored signature, signed payload) and never a repository,
// so they can be tested with any bytes and reused for any Git library.
//
// A verifier never decides to trust more than its keys say: options it does
// not understand in an allowed_signers file are refused, not ignored.
package signature
