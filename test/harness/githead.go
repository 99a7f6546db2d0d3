package harness

import (
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Head is the commit SHA the server's default branch points at.
func (g *GitServer) Head() (string, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{g.HTTPURL()}})
	refs, err := rem.List(&git.ListOptions{Auth: g.auth()})
	if err != nil {
		return "", err
	}
	for _, r := range refs {
		if r.Name() == plumbing.NewBranchReferenceName(g.Branch) {
			return r.Hash().String(), nil
		}
	}
	return "", plumbing.ErrReferenceNotFound
}
