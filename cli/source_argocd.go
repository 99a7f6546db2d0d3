package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/argosync"
	"github.com/gitgate/gitgate/sources/offlinescope"
	"github.com/gitgate/gitgate/sources/render"
)

// argoReadOptions are the client commands' flags of --source argocd.
type argoReadOptions struct {
	localRepoURL string
	namespace    string
	clusterNames []string
	// skipped are the Applications of other clusters the last load left
	// out, and why.
	skipped map[string]string
}

func (a *argoReadOptions) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&a.localRepoURL, "local-repo-url", "", "With --source argocd: the repository URL --local stands for. A source of that URL is read from --local; other sources are fetched (with the --git-* credentials).")
	fs.StringVar(&a.namespace, "argocd-namespace", "", "With --source argocd: Argo CD's own namespace, as serve's first --argocd-namespace (an Application elsewhere is tracked as namespace_name). Default: argocd.")
	fs.StringArrayVar(&a.clusterNames, "argocd-cluster-name", nil, "With --source argocd: as serve's --argocd-cluster-name; repeatable.")
}

func (a *argoReadOptions) set() bool {
	return a.localRepoURL != "" || a.namespace != "" || len(a.clusterNames) > 0
}

// validateArgoCD: --source argocd reads the Applications from --local.
func (o *sourceOptions) validateArgoCD() error {
	var errs []error
	if o.local == "" {
		errs = append(errs, errors.New("--source argocd needs --local DIR, the folder holding the Applications"))
	}
	if o.repo.URL != "" {
		errs = append(errs, errors.New("--source argocd excludes --repo-url: use --local with --local-repo-url"))
	}
	return errors.Join(errs...)
}

// loadArgoCD reads the Applications in --local (under --path), renders
// each that syncs to this cluster as serve --source argocd does, and
// indexes each as its root.
func (o *sourceOptions) loadArgoCD(ctx context.Context, scope provenance.Scope) (*loadedSource, error) {
	tree, rev, dir, err := o.tree(ctx)
	if err != nil {
		return nil, err
	}
	files, _, err := render.Tree(tree, o.repo.Paths, nil)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	var apps []map[string]any
	for _, f := range files {
		objs := f.Objects
		if objs == nil && f.Load != nil {
			if objs, err = f.Load(); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
		for _, obj := range objs {
			if obj["kind"] == "Application" && obj["apiVersion"] == argosync.ApplicationGVK.GroupVersion().String() {
				apps = append(apps, obj)
			}
		}
	}
	local, err := argosync.TreeFS(tree)
	if err != nil {
		return nil, err
	}
	offline := offlinescope.New(nil)
	if scope == nil {
		scope = offline
	}
	ns := o.argo.namespace
	if ns == "" {
		ns = argosync.DefaultNamespace
	}
	snap, skipped, err := argosync.Load(ctx, apps, argosync.LoadOptions{
		Local: local, LocalRev: rev, LocalURL: o.argo.localRepoURL, Credentials: o.credentials,
		ClusterNames: o.argo.clusterNames, Settings: argorender.Settings{ControllerNamespace: ns},
		Indexer: &provenance.Indexer{Scope: scope, DefaultNamespace: o.defaultNamespace},
	})
	o.argo.skipped = skipped
	if err != nil {
		return nil, err
	}
	return &loadedSource{Snapshot: snap, Scope: offline, Repo: dir}, nil
}

// credentials are the --git-* flags, for every repository fetched.
func (o *sourceOptions) credentials(context.Context, string) (transport.AuthMethod, []byte, error) {
	auth, err := o.repo.Credentials.Load()
	return auth, nil, err
}

// warnSkipped names the Applications of other clusters left out.
func (o *sourceOptions) warnSkipped(w io.Writer) {
	names := make([]string, 0, len(o.argo.skipped))
	for n := range o.argo.skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "Note: %s skipped: %s\n", n, o.argo.skipped[n])
	}
}
