package fluxsync

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxrender"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// poll brings r to gr's current revision when it is due: the first time,
// when gr changed, or when its interval passed. r.err holds the failure;
// the last revision read stays.
func (w *Watcher) poll(ctx context.Context, gr *sourcev1.GitRepository, r *repo, now time.Time) {
	if !r.next.IsZero() && r.seen == seenKey(gr) && now.Before(r.next) {
		return
	}
	r.polled, r.seen, r.next = true, seenKey(gr), now.Add(pollInterval(gr, w.minInterval()))
	r.url = gr.Spec.URL
	r.err = w.read(ctx, gr, r)
}

// read resolves, fetches and verifies gr's ref and keeps the filtered
// files of the head.
func (w *Watcher) read(ctx context.Context, gr *sourcev1.GitRepository, r *repo) error {
	if err := checkSupported(&gr.Spec); err != nil {
		return err
	}
	if err := w.ensureSource(ctx, gr, r); err != nil {
		return err
	}
	verifier, keysKey, err := verifierOf(ctx, w.APIReader, gr)
	if err != nil {
		return err
	}
	rev, err := r.src.Resolve(ctx)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", gitsource.RedactURL(gr.Spec.URL), err)
	}
	filesKey := hashOf(gr.Spec.Ignore)
	if rev == r.rev && r.files != nil && filesKey == r.filesKey && (verifier == nil || r.verified == rev.Hash+keysKey) {
		return nil
	}
	commit, err := r.src.Commit(ctx, rev)
	if err != nil {
		return err
	}
	if verifier != nil && r.verified != rev.Hash+keysKey {
		c, err := gitsource.SignedCommit(commit)
		if err == nil {
			_, err = verifier.Verify(c)
		}
		if err != nil {
			return fmt.Errorf("verify revision %s: %w", rev, err)
		}
		r.verified = rev.Hash + keysKey
	}
	tree, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("revision %s: read tree: %w", rev, err)
	}
	files, err := artifact(tree, gr.Spec.Ignore)
	if err != nil {
		return fmt.Errorf("revision %s: %w", rev, err)
	}
	if err := r.src.Retain(commit); err != nil {
		w.Log.Error(err, "could not drop objects of earlier revisions", "source", "GitRepository "+gr.Namespace+"/"+gr.Name)
	}
	r.rev, r.commit, r.tree, r.files, r.filesKey = rev, commit, tree, files, filesKey
	return nil
}

// ensureSource (re)builds r.src when gr's URL, ref or credentials changed.
// The credentials Secret is read on every poll, by name.
func (w *Watcher) ensureSource(ctx context.Context, gr *sourcev1.GitRepository, r *repo) error {
	ref, err := refOf(gr.Spec.Reference)
	if err != nil {
		return err
	}
	var data map[string][]byte
	if gr.Spec.SecretRef != nil {
		if data, err = readSecret(ctx, w.APIReader, gr.Namespace, gr.Spec.SecretRef.Name); err != nil {
			return fmt.Errorf("secretRef: %w", err)
		}
	}
	key := hashOf(gr.Spec.URL, ref, data)
	if r.src != nil && key == r.srcKey {
		return nil
	}
	auth, ca, err := gitsource.SecretAuth(gr.Spec.URL, data, w.InsecureHTTP)
	if err != nil {
		return fmt.Errorf("secretRef: %w", err)
	}
	cacheDir := ""
	if w.CacheDir != "" {
		cacheDir = path.Join(w.CacheDir, gr.Namespace, gr.Name)
	}
	src, err := gitsource.New(gitsource.Options{URL: gr.Spec.URL, Ref: ref, Auth: auth, CABundle: ca, CacheDir: cacheDir})
	if err != nil {
		return err
	}
	r.src, r.srcKey = src, key
	r.rev, r.files = provenance.Revision{}, nil
	return nil
}

// artifact is what source-controller would archive of tree: its regular
// files (fluxrender.RegularFiles), less those .sourceignore and
// spec.ignore exclude.
func artifact(tree *object.Tree, ignore *string) (fs.FS, error) {
	all, err := fluxrender.RegularFiles(tree)
	if err != nil {
		return nil, err
	}
	ignored, err := fluxrender.Ignore(all, ignore)
	if err != nil {
		return nil, err
	}
	for name := range all {
		if ignored(name) {
			delete(all, name)
		}
	}
	return all, nil
}
