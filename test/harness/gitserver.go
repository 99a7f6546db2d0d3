package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitServer is a real Git server over HTTP (and SSH when started so),
// serving one repository.
type GitServer struct {
	Server *gittestserver.GitServer
	// RepoPath is the repository's path on the server, e.g. "fleet.git".
	RepoPath string
	Branch   string
	user     string
	password string
}

// GitServerOptions configure StartGitServer.
type GitServerOptions struct {
	// Fixture is a directory committed as the first revision.
	Fixture string
	Branch  string
	// Username and Password turn on HTTP basic auth.
	Username, Password string
}

// StartGitServer serves a repository seeded from opts.Fixture over HTTP.
func StartGitServer(opts GitServerOptions) (*GitServer, error) {
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		return nil, err
	}
	if opts.Username != "" {
		srv.Auth(opts.Username, opts.Password)
	}
	g := &GitServer{Server: srv, RepoPath: "fleet.git", Branch: opts.Branch, user: opts.Username, password: opts.Password}
	if err := srv.InitRepo(opts.Fixture, opts.Branch, g.RepoPath); err != nil {
		return nil, fmt.Errorf("seed repository: %w", err)
	}
	if err := srv.StartHTTP(); err != nil {
		return nil, err
	}
	return g, nil
}

// HTTPURL is the repository's URL, without credentials.
func (g *GitServer) HTTPURL() string { return g.Server.HTTPAddress() + "/" + g.RepoPath }

// Stop stops every listener; the repository stays on disk until Close.
func (g *GitServer) Stop() {
	g.Server.StopHTTP()
	_ = g.Server.StopSSH()
}

// Restart serves the same repository again over HTTP, on a new port.
func (g *GitServer) Restart() error { return g.Server.StartHTTP() }

// Close stops the server and removes the repository.
func (g *GitServer) Close() {
	g.Stop()
	_ = os.RemoveAll(g.Server.Root())
}

// Change is one commit: files to write (path to content) and to delete.
type Change struct {
	Write   map[string]string
	Delete  []string
	Message string
	// Branch commits to another branch than the server's default.
	Branch string
	// Orphan starts the branch anew (a force-push that rewrites history).
	Orphan bool
	// SignKey signs the commit with OpenPGP.
	SignKey *openpgp.Entity
	// Signer signs the commit any other way, e.g. with an SSH key.
	Signer git.Signer
}

// MustCommit is Commit for a test: a failure ends it.
func (g *GitServer) MustCommit(t testing.TB, c Change) string {
	t.Helper()
	sha, err := g.Commit(c)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// Commit pushes a change as a person would and returns the new commit SHA.
func (g *GitServer) Commit(c Change) (string, error) {
	branch := c.Branch
	if branch == "" {
		branch = g.Branch
	}
	auth := g.auth()
	fs := memfs.New()
	repo, err := git.Clone(memory.NewStorage(), fs, &git.CloneOptions{
		URL: g.HTTPURL(), Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true,
	})
	if err != nil {
		return "", fmt.Errorf("clone %s: %w", branch, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if c.Orphan {
		for _, f := range mustList(fs, "/") {
			_, _ = wt.Remove(f)
		}
	}
	for p, content := range c.Write {
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
	for _, p := range c.Delete {
		if _, err := wt.Remove(p); err != nil {
			return "", fmt.Errorf("remove %s: %w", p, err)
		}
	}
	msg := c.Message
	if msg == "" {
		msg = "change"
	}
	opts := &git.CommitOptions{Author: &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()}, AllowEmptyCommits: true, SignKey: c.SignKey, Signer: c.Signer}
	if c.Orphan {
		opts.Parents = []plumbing.Hash{}
	}
	hash, err := wt.Commit(msg, opts)
	if err != nil {
		return "", err
	}
	spec := config.RefSpec("refs/heads/" + branch + ":refs/heads/" + branch)
	if c.Orphan {
		spec = "+" + spec
	}
	if err := repo.Push(&git.PushOptions{Auth: auth, RefSpecs: []config.RefSpec{spec}, Force: c.Orphan}); err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	return hash.String(), nil
}

// DeleteBranch removes a branch from the server.
func (g *GitServer) DeleteBranch(branch string) error {
	repo, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: g.HTTPURL(), Auth: g.auth(), NoCheckout: true})
	if err != nil {
		return err
	}
	err = repo.Push(&git.PushOptions{Auth: g.auth(), RefSpecs: []config.RefSpec{config.RefSpec(":refs/heads/" + branch)}})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

func (g *GitServer) auth() transport.AuthMethod {
	if g.user == "" {
		return nil // an untyped nil: go-git checks the interface for nil
	}
	return &githttp.BasicAuth{Username: g.user, Password: g.password}
}

func mustList(fs interface {
	ReadDir(string) ([]os.FileInfo, error)
	Join(...string) string
}, dir string) []string {
	var out []string
	entries, _ := fs.ReadDir(dir)
	for _, e := range entries {
		p := fs.Join(dir, e.Name())
		if e.IsDir() {
			out = append(out, mustList(fs, p)...)
		} else {
			out = append(out, p[1:])
		}
	}
	return out
}
