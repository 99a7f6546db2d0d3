package signature

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// PGPVerifier accepts commits signed by a key of an OpenPGP keyring.
type PGPVerifier struct {
	keys openpgp.EntityList
}

// LoadPGPKeyring reads an ASCII-armored OpenPGP public keyring (as `gpg
// --export --armor` writes it) and checks that it holds at least one key.
func LoadPGPKeyring(path string) (*PGPVerifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring %s holds no keys", path)
	}
	return &PGPVerifier{keys: keys}, nil
}

// ParsePGPKeyrings reads ASCII-armored OpenPGP public keyrings held in
// memory, as the values of the Secret a Flux GitRepository names in
// spec.verify.secretRef, and checks that together they hold a key. Errors
// name the keyring by what, never its bytes.
func ParsePGPKeyrings(keyrings map[string][]byte) (*PGPVerifier, error) {
	var keys openpgp.EntityList
	for what, data := range keyrings {
		k, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("keyring %s: %w", what, err)
		}
		keys = append(keys, k...)
	}
	if len(keys) == 0 {
		return nil, errors.New("no OpenPGP public key")
	}
	return &PGPVerifier{keys: keys}, nil
}

// Verify checks c's detached OpenPGP signature over its payload, as git
// verify-commit does.
func (v *PGPVerifier) Verify(c Commit) (string, error) {
	sig := strings.TrimSpace(c.Signature)
	if sig == "" {
		return "", fmt.Errorf("commit %s: %w", c.Hash, ErrUnsigned)
	}
	if c.IsSSH() {
		return "", fmt.Errorf("commit %s: SSH signatures are not supported, only OpenPGP: %w", c.Hash, ErrUntrustedSignature)
	}
	e, err := openpgp.CheckArmoredDetachedSignature(v.keys, bytes.NewReader(c.Payload), strings.NewReader(sig), nil)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w: %w", c.Hash, ErrUntrustedSignature, err)
	}
	for name := range e.Identities {
		return name, nil
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), nil
}
