package provenance

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing/object"
)

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

// CommitVerifier decides whether a commit may be enforced.
type CommitVerifier interface {
	// Verify returns who signed c (for the log), or an error wrapping
	// ErrUnsigned or ErrUntrustedSignature.
	Verify(c *object.Commit) (signer string, err error)
}

// PGPVerifier accepts commits signed by a key of an OpenPGP keyring.
type PGPVerifier struct {
	armored string
}

// LoadPGPKeyring reads an ASCII-armored OpenPGP public keyring (as `gpg
// --export --armor` writes it) and checks that it holds at least one key.
func LoadPGPKeyring(path string) (*PGPVerifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring %s holds no keys", path)
	}
	return &PGPVerifier{armored: string(data)}, nil
}

// Verify checks c's OpenPGP signature with go-git's Commit.Verify.
func (v *PGPVerifier) Verify(c *object.Commit) (string, error) {
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return "", fmt.Errorf("commit %s: %w", c.Hash, ErrUnsigned)
	}
	if strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----") {
		return "", fmt.Errorf("commit %s: SSH signatures are not supported, only OpenPGP: %w", c.Hash, ErrUntrustedSignature)
	}
	e, err := c.Verify(v.armored)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w: %w", c.Hash, ErrUntrustedSignature, err)
	}
	for name := range e.Identities {
		return name, nil
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), nil
}
