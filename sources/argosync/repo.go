package argosync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// DefaultMinInterval bounds how often one repository and revision is
// polled: every poll is an ls-remote. A change of an Application (Argo
// CD's refresh annotation among them) polls its repositories at once.
const DefaultMinInterval = 10 * time.Second

// Credentials gives the credentials and CA bundle for a repository URL;
// nil auth is anonymous access.
type Credentials func(ctx context.Context, url string) (auth transport.AuthMethod, ca []byte, err error)

// repoKey is one repository at one targetRevision: Applications that
// share it share its polls and fetched objects.
type repoKey struct{ url, revision, tagPrefix string }

// repo is what gitgate knows of one repoKey.
type repo struct {
	srcKey string
	src    *gitsource.Source
	next   time.Time
	// The last revision read: its tree and files.
	rev   provenance.Revision
	tree  *object.Tree
	files fs.FS
	err   error
	// polled is true when this pass read the remote (or failed to).
	polled bool
}

// keyOf is the repoKey of a source: Argo CD's empty targetRevision is
// HEAD.
func keyOf(url, revision, tagPrefix string) repoKey {
	if revision == "" {
		revision = "HEAD"
	}
	return repoKey{url: url, revision: revision, tagPrefix: tagPrefix}
}

// poll brings r to its ref's current commit when due or forced. r.err
// holds the failure; the last revision read stays.
func (w *Watcher) poll(ctx context.Context, k repoKey, r *repo, now time.Time, force bool) {
	if !force && !r.next.IsZero() && now.Before(r.next) {
		return
	}
	r.polled, r.next = true, now.Add(w.minInterval())
	r.err = w.read(ctx, k, r)
}

func (w *Watcher) minInterval() time.Duration {
	if w.MinInterval > 0 {
		return w.MinInterval
	}
	return DefaultMinInterval
}

// read resolves, fetches and keeps the files of the head.
func (w *Watcher) read(ctx context.Context, k repoKey, r *repo) error {
	if err := w.ensureSource(ctx, k, r); err != nil {
		return err
	}
	rev, err := r.src.Resolve(ctx)
	if err != nil {
		return fmt.Errorf("resolve %s at %q: %w", gitsource.RedactURL(k.url), k.revision, err)
	}
	if rev == r.rev && r.files != nil {
		return nil
	}
	commit, err := r.src.Commit(ctx, rev)
	if err != nil {
		return err
	}
	rev.Hash = commit.Hash.String() // a truncated SHA, in full
	tree, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("revision %s: read tree: %w", rev, err)
	}
	files, err := TreeFS(tree)
	if err != nil {
		return fmt.Errorf("revision %s: %w", rev, err)
	}
	if err := r.src.Retain(commit); err != nil {
		w.Log.Error(err, "could not drop objects of earlier revisions", "repository", gitsource.RedactURL(k.url))
	}
	r.rev, r.tree, r.files = rev, tree, files
	return nil
}

// ensureSource (re)builds r.src when the credentials changed.
func (w *Watcher) ensureSource(ctx context.Context, k repoKey, r *repo) error {
	var auth transport.AuthMethod
	var ca []byte
	if w.Credentials != nil {
		var err error
		if auth, ca, err = w.Credentials(ctx, k.url); err != nil {
			return fmt.Errorf("credentials of %s: %w", gitsource.RedactURL(k.url), err)
		}
	}
	key := hashOf(k, fmt.Sprintf("%T", auth), authDigest(auth), ca)
	if r.src != nil && key == r.srcKey {
		return nil
	}
	cacheDir := ""
	if w.CacheDir != "" {
		cacheDir = path.Join(w.CacheDir, hashOf(k)[:16])
	}
	src, err := gitsource.New(gitsource.Options{URL: k.url, Ref: gitsource.Ref{Revision: k.revision, TagPrefix: k.tagPrefix}, Auth: auth, CABundle: ca, CacheDir: cacheDir})
	if err != nil {
		return err
	}
	r.src, r.srcKey = src, key
	r.rev, r.files, r.tree = provenance.Revision{}, nil, nil
	return nil
}

// authDigest identifies credentials without holding them in clear.
func authDigest(a transport.AuthMethod) string {
	if a == nil {
		return ""
	}
	return hashOf(a.String(), fmt.Sprintf("%#v", a))
}

// hashOf is a stable digest of any JSON-able values.
func hashOf(vs ...any) string {
	h := sha256.New()
	for _, v := range vs {
		b, _ := json.Marshal(v) // maps marshal with sorted keys
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TreeFS is a commit's tree as Argo CD's checkout holds it: regular and
// executable files, and a symbolic link to a file inside the repository
// as that file. A link that leaves the repository fails, as the repo
// server refuses out-of-bounds symlinks; other links are left out.
// Submodules are left out (Argo CD's default).
func TreeFS(tree *object.Tree) (fs.FS, error) {
	out := fstest.MapFS{}
	var links []*object.File
	err := tree.Files().ForEach(func(f *object.File) error {
		switch f.Mode {
		case filemode.Regular, filemode.Executable:
			data, err := f.Contents()
			if err != nil {
				return fmt.Errorf("read %s: %w", f.Name, err)
			}
			out[f.Name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
		case filemode.Symlink:
			links = append(links, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		target, err := l.Contents()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", l.Name, err)
		}
		p := path.Clean(path.Join(path.Dir(l.Name), target))
		if path.IsAbs(target) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("repository contains out-of-bounds symlinks. file: %s", l.Name)
		}
		// A link to a folder, to another link or to nothing is left out:
		// a render that needs it fails on its absence.
		if f, ok := out[p]; ok {
			out[l.Name] = f
		}
	}
	return out, nil
}
