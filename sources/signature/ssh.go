package signature

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// sshSigNamespace is the namespace git signs commits in (gpg.ssh).
const sshSigNamespace = "git"

// SSHVerifier accepts commits signed with an SSH key listed in an
// allowed_signers file, the format `git config gpg.ssh.allowedSignersFile`
// reads (ssh-keygen(1), ALLOWED SIGNERS).
type SSHVerifier struct {
	signers []allowedSigner
}

type allowedSigner struct {
	principals string
	key        ssh.PublicKey
}

// LoadAllowedSigners reads an allowed_signers file: one
// `principals [namespaces="git"] key-type base64-key [comment]` per line.
// Options other than namespaces (cert-authority, valid-after, valid-before)
// are refused rather than ignored: ignoring one would trust more than the
// file says.
func LoadAllowedSigners(path string) (*SSHVerifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read allowed signers: %w", err)
	}
	v := &SSHVerifier{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principals, rest, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want principals and a key", path, n)
		}
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		gitAllowed := true
		for _, opt := range options {
			name, value, _ := strings.Cut(opt, "=")
			switch strings.ToLower(name) {
			case "namespaces":
				gitAllowed = false
				for _, ns := range strings.Split(strings.Trim(value, `"`), ",") {
					gitAllowed = gitAllowed || ns == sshSigNamespace || ns == "*"
				}
			default:
				return nil, fmt.Errorf("%s:%d: option %q is not supported", path, n, name)
			}
		}
		if gitAllowed {
			v.signers = append(v.signers, allowedSigner{principals: principals, key: key})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read allowed signers: %w", err)
	}
	if len(v.signers) == 0 {
		return nil, fmt.Errorf("%s allows no key to sign git commits", path)
	}
	return v, nil
}

// Verify checks c's SSH signature (sshsig, namespace "git") against the
// allowed signers.
func (v *SSHVerifier) Verify(c Commit) (string, error) {
	armored := strings.TrimSpace(c.Signature)
	if armored == "" {
		return "", fmt.Errorf("commit %s: %w", c.Hash, ErrUnsigned)
	}
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return "", fmt.Errorf("commit %s: %w: %w", c.Hash, ErrUntrustedSignature, err)
	}
	for _, s := range v.signers {
		if sshsig.Verify(bytes.NewReader(c.Payload), sig, s.key, sig.HashAlgorithm, sshSigNamespace) == nil {
			return s.principals, nil
		}
	}
	return "", fmt.Errorf("commit %s: %w (SSH key %s)", c.Hash, ErrUntrustedSignature, ssh.FingerprintSHA256(sig.PublicKey))
}
