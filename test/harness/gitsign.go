package harness

import (
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
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
