package signature

import (
	"errors"
	"fmt"
	"strings"
)

// Commit is what a verifier needs of a commit, modelled on fluxcd/pkg's
// git.Commit.
type Commit struct {
	// Hash is the commit SHA, for messages.
	Hash string
	// Signature is the armored signature of the gpgsig header: OpenPGP or
	// SSH. Empty when the commit is not signed.
	Signature string
	// Payload is the commit as it was signed: encoded without its gpgsig
	// header.
	Payload []byte
}

// IsSSH reports whether c carries an SSH signature rather than OpenPGP.
func (c Commit) IsSSH() bool {
	return strings.HasPrefix(strings.TrimSpace(c.Signature), sshArmorStart)
}

// sshArmorStart begins an armored sshsig signature.
const sshArmorStart = "-----BEGIN SSH SIGNATURE-----"

// Commit verification refusals. A refused head is never enforced; the last
// verified revision stays. They are errors, not warnings, because the point
// of verification is that nobody but a key holder decides what is enforced.
var (
	// ErrUnsigned: the commit carries no signature.
	ErrUnsigned = errors.New("commit is not signed")
	// ErrUntrustedSignature: the signature does not verify against any
	// trusted key (wrong key, tampered commit, or an unsupported kind).
	ErrUntrustedSignature = errors.New("commit signature is not from a trusted key")
)

// Verifier decides whether a commit may be enforced.
type Verifier interface {
	// Verify returns who signed c (for the log), or an error wrapping
	// ErrUnsigned or ErrUntrustedSignature.
	Verify(c Commit) (signer string, err error)
}

// Verifiers trusts a commit signed by either kind of key it holds; which
// one applies follows from the signature's armor.
type Verifiers struct {
	PGP *PGPVerifier
	SSH *SSHVerifier
}

// Verify dispatches on the signature kind.
func (v Verifiers) Verify(c Commit) (string, error) {
	isSSH := c.IsSSH()
	switch {
	case isSSH && v.SSH != nil:
		return v.SSH.Verify(c)
	case !isSSH && v.PGP != nil:
		return v.PGP.Verify(c)
	case strings.TrimSpace(c.Signature) == "":
		return "", fmt.Errorf("commit %s: %w", c.Hash, ErrUnsigned)
	case isSSH:
		return "", fmt.Errorf("commit %s: signed with SSH, but no allowed signers are configured: %w", c.Hash, ErrUntrustedSignature)
	default:
		return "", fmt.Errorf("commit %s: signed with OpenPGP, but no keyring is configured: %w", c.Hash, ErrUntrustedSignature)
	}
}
