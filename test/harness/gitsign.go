package harness

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// NewPGPKey makes an OpenPGP signing key and writes its public keyring,
// ASCII-armored as `gpg --export --armor` would, to dir/keyring.asc.
func NewPGPKey(dir, name string) (*openpgp.Entity, string, error) {
	e, err := openpgp.NewEntity(name, "", name+"@example.com", nil)
	if err != nil {
		return nil, "", err
	}
	p := filepath.Join(dir, name+"-keyring.asc")
	f, err := os.Create(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	w, err := armor.Encode(f, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, "", err
	}
	if err := e.Serialize(w); err != nil {
		return nil, "", err
	}
	return e, p, w.Close()
}

// CommitSigned pushes a commit writing files to the default branch, signed
// with key. It returns the commit SHA.
func (g *GitServer) CommitSigned(files map[string]string, key *openpgp.Entity) (string, error) {
	return g.Commit(Change{Write: files, Message: "signed change", SignKey: key})
}

// SSHCommitSigner signs commits as `git commit -S` with gpg.format=ssh
// does: an armored sshsig signature in namespace "git".
type SSHCommitSigner struct{ Signer ssh.Signer }

// Sign implements go-git's Signer.
func (s SSHCommitSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.Signer, sshsig.HashSHA512, "git")
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}

// NewSSHSigningKey makes an ed25519 signing key and writes an
// allowed_signers file trusting it for principal into dir.
func NewSSHSigningKey(dir, principal string) (SSHCommitSigner, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SSHCommitSigner{}, "", err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return SSHCommitSigner{}, "", err
	}
	p := filepath.Join(dir, principal+"-allowed_signers")
	line := principal + " " + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	return SSHCommitSigner{signer}, p, os.WriteFile(p, []byte(line), 0o600)
}
