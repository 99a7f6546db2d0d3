package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/fluxlocal"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/gitsync"
	"github.com/gitgate/gitgate/sources/localsource"
	"github.com/gitgate/gitgate/sources/offlinescope"
	"github.com/gitgate/gitgate/sources/render"
)

// sourceOptions choose what the client commands (check, render, drift)
// read as Git, once: a directory on disk, or the repository and ref serve
// follows, with serve's flag names; with --source flux, a directory
// rendered as Flux would apply it.
type sourceOptions struct {
	// kind is --source: server.SourceRepo, server.SourceFlux (a
	// directory rendered as Flux would apply it, source_flux.go) or
	// server.SourceArgoCD (the Applications in the source rendered as
	// Argo CD would, source_argocd.go).
	kind  string
	local string
	argo  argoReadOptions
	// repo is --repo-url with its ref, paths and --git-* flags.
	repo             server.GitSource
	defaultNamespace string
	flux             fluxOptions
}

// readRepoUsage is the help of the client commands' repository flags: a
// repository they read once.
var readRepoUsage = repoUsage{
	url:              "URL of the Git repository, as serve takes it. Exclusive with --local; needs one of --branch, --tag, --semver or --commit.",
	branch:           "Branch to read.",
	tag:              "Tag to read.",
	semver:           "Semantic version range; the highest matching tag is read.",
	commit:           "Full SHA-1 of a commit to read.",
	path:             "Directory in the repository to read, as serve's --path; repeatable. Default: the whole repository.",
	defaultNamespace: "Namespace of namespaced manifests that set none, as serve's --default-namespace.",
}

func (o *sourceOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.kind, "source", server.SourceRepo, "What to read: repo (the files of --local or --repo-url, each --path a root, as serve --source repo), flux (--local DIR as Flux would apply it, each Kustomization and HelmRelease a root, as serve --source flux names them; see --local-source) or argocd (every Argo CD Application in --local rendered as Argo CD would, as serve --source argocd; see --local-repo-url).")
	fs.StringVar(&o.local, "local", "", "Directory to read as the repository, e.g. a checkout with changes not yet committed. Exclusive with --repo-url.")
	bindRepoFlags(fs, &o.repo, &o.defaultNamespace, readRepoUsage)
	o.argo.bindFlags(fs)
	// The credential and CA flags are serve's own.
	bindCredentialFlags(fs, &o.repo)
	o.flux.BindFlags(fs)
}

// Validate reports a source chosen twice or not at all, and bad Git flags.
func (o *sourceOptions) Validate() error {
	if o.kind != server.SourceArgoCD && o.argo.set() {
		return errors.New("--local-repo-url, --argocd-namespace and --argocd-cluster-name need --source argocd")
	}
	switch o.kind {
	case server.SourceRepo:
		if err := o.flux.unset(); err != nil {
			return err
		}
	case server.SourceFlux:
		return o.validateFlux()
	case server.SourceArgoCD:
		if err := o.flux.unset(); err != nil {
			return err
		}
		return o.validateArgoCD()
	default:
		return fmt.Errorf("--source must be %s, %s or %s, got %q", server.SourceRepo, server.SourceFlux, server.SourceArgoCD, o.kind)
	}
	switch {
	case o.local != "" && o.repo.URL != "":
		return errors.New("--local and --repo-url are exclusive")
	case o.local != "":
		if o.repo.Ref != (gitsource.Ref{}) {
			return errors.New("--branch, --tag, --semver and --commit need --repo-url, not --local")
		}
		return nil
	case o.repo.URL == "":
		return errors.New("a source is required: --local DIR, or --repo-url URL with --branch, --tag, --semver or --commit")
	}
	return errors.Join(checkRepoURL(o.repo.URL), validateRef(o.repo.Ref), validateCredentials(o.repo.Credentials, o.repo.URL))
}

// loadedSource is a source read, rendered and indexed.
type loadedSource struct {
	Snapshot *provenance.Snapshot
	// Scope knows built-in kinds and the source's CRDs.
	Scope *offlinescope.Scope
	// Repo names the source in messages: the redacted URL or the directory.
	Repo string
	// Ignores are fields the source itself leaves free (a HelmRelease's
	// driftDetection.ignore, what its chart renders differently every
	// time), for the checker beside the command's own rules.
	Ignores []provenance.IgnoreRule
	// Flux is the render of --source flux, root by root; nil otherwise.
	Flux *fluxlocal.Result
}

// load reads the source, renders it as serve does and indexes it with
// scope, nil for the offline scope (built-in kinds and the source's CRDs).
// Kinds the scope does not know are in Snapshot.Unresolved().
func (o *sourceOptions) load(ctx context.Context, scope provenance.Scope) (*loadedSource, error) {
	switch o.kind {
	case server.SourceFlux:
		return o.loadFlux(ctx, scope)
	case server.SourceArgoCD:
		return o.loadArgoCD(ctx, scope)
	}
	tree, rev, repo, err := o.tree(ctx)
	if err != nil {
		return nil, err
	}
	files, _, err := render.Tree(tree, o.repo.Paths, nil)
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
	// Each --path is a root of its own, rendered, indexed and composed by
	// the Syncer's own code: verdicts name the same root, revision and
	// file as the webhook's.
	snap, err := gitsync.Load(tree, rev, repo, repo, o.repo.Paths, &provenance.Indexer{Scope: scope, DefaultNamespace: o.defaultNamespace})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", repo, err)
	}
	return &loadedSource{Snapshot: snap, Scope: offline, Repo: repo}, nil
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
	repo := gitsource.RedactURL(o.repo.URL)
	src, err := o.repo.Open()
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

// warnUnresolved reports kinds the source uses whose scope the scope in
// use does not know (why says which: offline, or the cluster's): their
// objects are indexed as namespaced, a guess.
func warnUnresolved(w io.Writer, snap *provenance.Snapshot, why string) {
	for _, k := range snap.Unresolved() {
		fmt.Fprintf(w, "Warning: unknown kind %s: %s; its objects are taken as namespaced\n", k, why)
	}
}

// Why a kind is unknown, for warnUnresolved: load without a scope
// (offline), or with the cluster's.
const (
	unknownOffline   = "neither built in nor defined by a CustomResourceDefinition in the source"
	unknownInCluster = "the cluster does not serve it and no CustomResourceDefinition in the source defines it"
)
