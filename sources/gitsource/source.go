package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/gitgate/gitgate/provenance"
)

// Ref selects what to follow in the repository. Exactly one field is set.
type Ref struct {
	Branch string
	Tag    string
	// SemVer is a range; the highest tag in it is followed.
	SemVer string
	// Commit pins one commit SHA.
	Commit string
	// Revision is a revision as Argo CD's targetRevision names it: HEAD,
	// a branch, a tag, a semver constraint over tags, a full ref name, or
	// a commit SHA (full, or 7 and more hex digits), resolved as Argo CD's
	// git client resolves it (revision.go).
	Revision string
	// TagPrefix, with Revision, keeps only tags with this prefix for a
	// semver constraint (Argo CD's source.tagPrefix).
	TagPrefix string
}

// Validate reports a Ref that sets none or several of its fields.
func (r Ref) Validate() error {
	n := 0
	for _, v := range []string{r.Branch, r.Tag, r.SemVer, r.Commit, r.Revision} {
		if v != "" {
			n++
		}
	}
	switch {
	case n > 1 && r.Revision != "":
		return errors.New("an Argo CD revision excludes branch, tag, semver and commit")
	case n != 1:
		return errors.New("exactly one of branch, tag, semver or commit must be set")
	}
	if r.Commit != "" && !plumbing.IsHash(r.Commit) {
		return fmt.Errorf("commit %q is not a full 40-character SHA-1", r.Commit)
	}
	if r.SemVer != "" {
		if _, err := parseConstraint(r.SemVer); err != nil {
			return err
		}
	}
	return nil
}

func (r Ref) String() string {
	switch {
	case r.Branch != "":
		return "branch " + r.Branch
	case r.Tag != "":
		return "tag " + r.Tag
	case r.SemVer != "":
		return "semver " + r.SemVer
	case r.Revision != "":
		return "revision " + r.Revision
	default:
		return "commit " + r.Commit
	}
}

// ErrRefNotFound means the remote no longer has the followed branch or tag.
var ErrRefNotFound = errors.New("ref not found on remote")

// Options configure a Source.
type Options struct {
	URL string
	Ref Ref
	// Auth is nil for anonymous access.
	Auth transport.AuthMethod
	// CABundle adds trusted CAs for HTTPS.
	CABundle []byte
	// CacheDir keeps objects on disk so that a restart does not clone again;
	// empty keeps them in memory.
	CacheDir string
}

// Source reads revisions of one remote repository with go-git. It
// fetches shallowly: only the commit being enforced, never history.
type Source struct {
	opts Options
	mu   sync.Mutex
	repo *git.Repository
	// fullRef is the ref a Revision last resolved to
	// ("refs/heads/main"), which Commit fetches; "" for a commit SHA.
	fullRef string
}

const remoteName = "origin"

// New opens (or initializes) the object store.
func New(opts Options) (*Source, error) {
	if err := opts.Ref.Validate(); err != nil {
		return nil, err
	}
	var st storage.Storer = memory.NewStorage()
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("create cache dir: %w", err)
		}
		st = filesystem.NewStorage(osfs.New(filepath.Clean(opts.CacheDir)), cache.NewObjectLRUDefault())
	}
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open object store: %w", err)
	}
	// The remote is recreated so a changed URL in the flags takes effect
	// with an existing cache dir.
	if err := repo.DeleteRemote(remoteName); err != nil && !errors.Is(err, git.ErrRemoteNotFound) {
		return nil, fmt.Errorf("reset remote: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{opts.URL}}); err != nil {
		return nil, fmt.Errorf("configure remote: %w", err)
	}
	return &Source{opts: opts, repo: repo}, nil
}

// Resolve asks the remote which commit the ref points at now (git
// ls-remote). It downloads no objects.
func (g *Source) Resolve(ctx context.Context) (provenance.Revision, error) {
	if g.opts.Ref.Commit != "" {
		return provenance.Revision{Hash: g.opts.Ref.Commit}, nil
	}
	if isCommitSHA(g.opts.Ref.Revision) {
		return provenance.Revision{Ref: g.opts.Ref.Revision, Hash: strings.ToLower(g.opts.Ref.Revision)}, nil
	}
	remote, err := g.repo.Remote(remoteName)
	if err != nil {
		return provenance.Revision{}, err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: g.opts.Auth, CABundle: g.opts.CABundle, PeelingOption: git.AppendPeeled})
	if err != nil {
		return provenance.Revision{}, fmt.Errorf("list remote refs: %w", explain(redact(err, g.opts.Auth)))
	}
	if g.opts.Ref.Revision != "" {
		rev, full, err := resolveRevision(g.opts.Ref.Revision, g.opts.Ref.TagPrefix, refs)
		g.mu.Lock()
		g.fullRef = full
		g.mu.Unlock()
		return rev, err
	}
	return resolveRef(g.opts.Ref, refs)
}

func resolveRef(r Ref, refs []*plumbing.Reference) (provenance.Revision, error) {
	byName := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	var tags []string
	for _, ref := range refs {
		byName[ref.Name()] = ref.Hash()
		if ref.Name().IsTag() && !strings.HasSuffix(ref.Name().String(), "^{}") {
			tags = append(tags, ref.Name().Short())
		}
	}
	tagRev := func(tag string) (provenance.Revision, error) {
		// An annotated tag points at a tag object; the peeled entry
		// (refs/tags/v1^{}) names the commit.
		if h, ok := byName[plumbing.ReferenceName("refs/tags/"+tag+"^{}")]; ok {
			return provenance.Revision{Ref: tag, Hash: h.String()}, nil
		}
		if h, ok := byName[plumbing.NewTagReferenceName(tag)]; ok {
			return provenance.Revision{Ref: tag, Hash: h.String()}, nil
		}
		return provenance.Revision{}, fmt.Errorf("tag %s: %w", tag, ErrRefNotFound)
	}
	switch {
	case r.Branch != "":
		h, ok := byName[plumbing.NewBranchReferenceName(r.Branch)]
		if !ok {
			return provenance.Revision{}, fmt.Errorf("branch %s: %w", r.Branch, ErrRefNotFound)
		}
		return provenance.Revision{Ref: r.Branch, Hash: h.String()}, nil
	case r.Tag != "":
		return tagRev(r.Tag)
	default:
		tag, err := highestTag(r.SemVer, tags)
		if err != nil {
			return provenance.Revision{}, err
		}
		return tagRev(tag)
	}
}

// Commit fetches rev (shallowly, if it is not stored yet) and returns it.
func (g *Source) Commit(ctx context.Context, rev provenance.Revision) (*object.Commit, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	hash := plumbing.NewHash(rev.Hash)
	if c, err := g.repo.CommitObject(hash); err == nil {
		return c, nil
	}
	opts := &git.FetchOptions{
		RemoteName: remoteName,
		Auth:       g.opts.Auth,
		CABundle:   g.opts.CABundle,
		Tags:       git.NoTags,
		Force:      true,
		Depth:      1,
	}
	switch {
	case g.opts.Ref.Branch != "":
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+refs/heads/" + rev.Ref + ":refs/remotes/origin/" + rev.Ref)}
		if g.haveShallow() {
			// A depth-limited fetch makes the server send the whole tree
			// again. Without a depth, the server stops at the commit we
			// hold (our shallow boundary) and sends only what changed. A
			// rewritten history is sent whole once; Retain then drops it.
			opts.Depth = 0
		}
	case g.opts.Ref.Revision != "":
		return g.fetchRevision(ctx, rev, opts)
	case g.opts.Ref.Commit != "":
		// Servers rarely allow fetching an arbitrary SHA, so fetch the
		// branches with history and find the commit among them.
		opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*"}
		opts.Depth = 0
	default:
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+refs/tags/" + rev.Ref + ":refs/tags/" + rev.Ref)}
	}
	if err := g.repo.FetchContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s: %w", rev, explain(redact(err, g.opts.Auth)))
	}
	c, err := g.repo.CommitObject(hash)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", rev.Short(), err)
	}
	return c, nil
}

// Retain drops every stored object that the given commits do not need, when objects
// are kept in memory. Without it each fetch would add a tree's worth of
// objects for good. The commits, their trees and blobs stay, so the next fetch
// still negotiates from it and sends only what changed. With a cache dir,
// objects live on disk and are left alone.
func (g *Source) Retain(commits ...*object.Commit) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	mem, ok := g.repo.Storer.(*memory.Storage)
	if !ok {
		return nil
	}
	keep := map[plumbing.Hash]bool{}
	var shallow []plumbing.Hash
	for _, c := range commits {
		if c == nil || keep[c.Hash] {
			continue
		}
		if err := markReachable(c, keep); err != nil {
			return err
		}
		shallow = append(shallow, c.Hash)
	}
	for _, m := range []map[plumbing.Hash]plumbing.EncodedObject{mem.Objects, mem.Commits, mem.Trees, mem.Blobs, mem.Tags} {
		for h := range m {
			if !keep[h] {
				delete(m, h)
			}
		}
	}
	// References to dropped commits (an old tag, a rewritten branch) would
	// make the next fetch offer objects it no longer has.
	for name, ref := range mem.ReferenceStorage {
		if ref.Type() == plumbing.HashReference && !keep[ref.Hash()] {
			delete(mem.ReferenceStorage, name)
		}
	}
	return mem.SetShallow(shallow)
}

// markReachable marks a commit, its tree, subtrees and blobs.
func markReachable(c *object.Commit, keep map[plumbing.Hash]bool) error {
	keep[c.Hash] = true
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("read tree: %w", err)
	}
	keep[tree.Hash] = true
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		_, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walk tree: %w", err)
		}
		keep[e.Hash] = true
	}
}

// ObjectCount is the number of objects held in memory; 0 with a cache dir.
func (g *Source) ObjectCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if mem, ok := g.repo.Storer.(*memory.Storage); ok {
		return len(mem.Objects)
	}
	return 0
}

// explain says in words what go-git's terse authentication errors mean.
func explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("the Git server refused the credentials (or none were given): %w", err)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("the credentials are not allowed to read the repository: %w", err)
	}
	return err
}

// haveShallow reports whether the store holds an earlier fetched commit.
func (g *Source) haveShallow() bool {
	sh, err := g.repo.Storer.Shallow()
	return err == nil && len(sh) > 0
}
