package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
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
	fs := memfs.New()
	repo, err := git.Clone(memory.NewStorage(), fs, &git.CloneOptions{
		URL: g.HTTPURL(), Auth: g.auth(), ReferenceName: plumbing.NewBranchReferenceName(g.Branch), SingleBranch: true,
	})
	if err != nil {
		return "", fmt.Errorf("clone: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	for p, content := range files {
		if err := fs.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		f, err := fs.Create(p)
		if err != nil {
			return "", err
		}
		_, err = f.Write([]byte(content))
		f.Close()
		if err != nil {
			return "", err
		}
		if _, err := wt.Add(p); err != nil {
			return "", err
		}
	}
	hash, err := wt.Commit("signed change", &git.CommitOptions{
		Author:  &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()},
		SignKey: key,
	})
	if err != nil {
		return "", err
	}
	if err := repo.Push(&git.PushOptions{Auth: g.auth()}); err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	return hash.String(), nil
}
