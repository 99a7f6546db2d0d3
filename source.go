package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/gitsync"
	"github.com/gitgate/gitgate/sources/localsource"
	"github.com/gitgate/gitgate/sources/offlinescope"
	"github.com/gitgate/gitgate/sources/render"
)

// sourceOptions choose what the client commands (check, render, drift)
// read as Git: a directory on disk, or the repository and ref serve
// follows, with serve's flag names.
type sourceOptions struct {
	local            string
	repoURL          string
	ref              gitsource.Ref
	paths            []string
	defaultNamespace string
	git              gitOptions
}

func (o *sourceOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.local, "local", "", "Directory to read as the repository, e.g. a checkout with changes not yet committed. Exclusive with --repo-url.")
	fs.StringVar(&o.repoURL, "repo-url", "", "URL of the Git repository, as serve takes it. Exclusive with --local; needs one of --branch, --tag, --semver or --commit.")
	fs.StringVar(&o.ref.Branch, "branch", "", "Branch to read.")
	fs.StringVar(&o.ref.Tag, "tag", "", "Tag to read.")
	fs.StringVar(&o.ref.SemVer, "semver", "", "Semantic version range; the highest matching tag is read.")
	fs.StringVar(&o.ref.Commit, "commit", "", "Full SHA-1 of a commit to read.")
	fs.StringArrayVar(&o.paths, "path", nil, "Directory in the repository to read, as serve's --path; repeatable. Default: the whole repository.")
	fs.StringVar(&o.defaultNamespace, "default-namespace", "default", "Namespace of namespaced manifests that set none, as serve's --default-namespace.")
	// The credential and CA flags are serve's own, bound to o.git.
	all := pflag.NewFlagSet("git", pflag.ContinueOnError)
	o.git.BindFlags(all)
	all.VisitAll(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "git-") {
			fs.AddFlag(f)
		}
	})
}

// Validate reports a source chosen twice or not at all, and bad Git flags.
func (o *sourceOptions) Validate() error {
	switch {
	case o.local != "" && o.repoURL != "":
		return errors.New("--local and --repo-url are exclusive")
	case o.local != "":
		if o.ref != (gitsource.Ref{}) {
			return errors.New("--branch, --tag, --semver and --commit need --repo-url, not --local")
		}
		return nil
	case o.repoURL == "":
		return errors.New("a source is required: --local DIR, or --repo-url URL with --branch, --tag, --semver or --commit")
	}
	var errs []error
	if err := checkRepoURL(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	if err := o.ref.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--branch, --tag, --semver, --commit: %w", err))
	}
	if err := o.git.Validate(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// loadedSource is a source read, rendered and indexed.
type loadedSource struct {
	Snapshot *provenance.Snapshot
	// Scope knows built-in kinds and the source's CRDs.
	Scope *offlinescope.Scope
	// Repo names the source in messages: the redacted URL or the directory.
	Repo string
}

// load reads the source, renders it as serve does and indexes it with
// scope, nil for the offline scope (built-in kinds and the source's CRDs).
// Kinds the scope does not know are in Snapshot.Unresolved().
func (o *sourceOptions) load(ctx context.Context, scope provenance.Scope) (*loadedSource, error) {
	tree, rev, repo, err := o.tree(ctx)
	if err != nil {
		return nil, err
	}
	files, _, err := render.Tree(tree, o.paths, nil)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", repo, err)
	}
	var objs []map[string]any
	for _, f := range files {
		// Files read late (File.Load) declare no CRD, all the offline
		// scope reads.
		objs = append(objs, f.Objects...)
	}
	offline := offlinescope.New(objs)
	if scope == nil {
		scope = offline
	}
	snap, err := o.compose(tree, rev, repo, scope)
	if err != nil {
		return nil, err
	}
	return &loadedSource{Snapshot: snap, Scope: offline, Repo: repo}, nil
}

// compose renders and indexes each --path as a root of its own, named as
// serve names it, and merges them as serve's Composer does: verdicts name
// the same root, revision and file as the webhook's.
func (o *sourceOptions) compose(tree *object.Tree, rev provenance.Revision, repo string, scope provenance.Scope) (*provenance.Snapshot, error) {
	paths := o.paths
	if len(paths) == 0 {
		paths = []string{""}
	}
	composer := &provenance.Composer{Store: &provenance.Store{}}
	var parts []provenance.Part
	for _, p := range paths {
		root := provenance.Root{Name: gitsync.RootName(p), Source: repo, URL: repo}
		var roots []string
		if p != "" {
			roots = []string{p}
		}
		files, _, err := render.Tree(tree, roots, nil)
		if err != nil {
			return nil, fmt.Errorf("render %s of %s: %w", root.Name, repo, err)
		}
		ix := &provenance.Indexer{Scope: scope, DefaultNamespace: o.defaultNamespace, Root: root}
		idx, err := ix.Build(rev, files)
		if err != nil {
			return nil, fmt.Errorf("index %s of %s: %w", root.Name, repo, err)
		}
		parts = append(parts, provenance.Part{Index: idx, Fetched: time.Now()})
	}
	composer.Update(parts...)
	return composer.Store.Load(), nil
}

func (o *sourceOptions) tree(ctx context.Context) (*object.Tree, provenance.Revision, string, error) {
	if o.local != "" {
		dir, err := filepath.Abs(o.local)
		if err != nil {
			return nil, provenance.Revision{}, "", err
		}
		tree, rev, err := localsource.Tree(dir)
		if err != nil {
			return nil, rev, "", fmt.Errorf("--local %s: %w", o.local, err)
		}
		return tree, rev, dir, nil
	}
	repo := gitsource.RedactURL(o.repoURL)
	src, err := o.git.source(o.repoURL, o.ref)
	if err != nil {
		return nil, provenance.Revision{}, "", err
	}
	rev, err := src.Resolve(ctx)
	if err != nil {
		return nil, rev, "", fmt.Errorf("resolve %s: %w", repo, err)
	}
	commit, err := src.Commit(ctx, rev)
	if err != nil {
		return nil, rev, "", err
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, rev, "", fmt.Errorf("read tree of %s: %w", rev, err)
	}
	return tree, rev, repo, nil
}
