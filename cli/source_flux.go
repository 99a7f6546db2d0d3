package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxlocal"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/helmrender"
	"github.com/gitgate/gitgate/sources/offlinescope"
)

// fluxOptions are the flags of --source flux: which GitRepository the
// directory stands for, and the capabilities a HelmRelease's templates
// see, as helm template takes them.
type fluxOptions struct {
	localSource string
	kubeVersion string
	apiVersions []string
	// parsed by validateFlux
	source *types.NamespacedName
	caps   helmrender.Capabilities
}

func (o *fluxOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.localSource, "local-source", "", "With --source flux: the one GitRepository, NAMESPACE/NAME, that --local stands for; the Kustomizations and HelmReleases of any other are skipped. Default: --local stands for every GitRepository.")
	fs.StringVar(&o.kubeVersion, "kube-version", "", "With --source flux: the Kubernetes version HelmRelease templates see (.Capabilities.KubeVersion), as helm template's --kube-version. Default: Helm's own.")
	fs.StringSliceVar(&o.apiVersions, "api-versions", nil, "With --source flux: API versions HelmRelease templates see besides Helm's defaults (.Capabilities.APIVersions), as helm template's --api-versions; repeatable or comma-separated.")
}

// unset refuses the flags of --source flux with --source repo.
func (o *fluxOptions) unset() error {
	if o.localSource != "" || o.kubeVersion != "" || len(o.apiVersions) > 0 {
		return errors.New("--local-source, --kube-version and --api-versions need --source flux")
	}
	return nil
}

// validateFlux checks --source flux: a directory, at most one path, and
// its own flags.
func (o *sourceOptions) validateFlux() error {
	var errs []error
	if o.local == "" || o.repo.URL != "" {
		errs = append(errs, errors.New("--source flux reads a directory: --local DIR (not --repo-url)"))
	}
	if o.repo.Ref != (gitsource.Ref{}) {
		errs = append(errs, errors.New("--branch, --tag, --semver and --commit need --repo-url, not --source flux"))
	}
	if len(o.repo.Paths) > 1 {
		errs = append(errs, errors.New("--source flux renders one --path, as one Kustomization"))
	}
	if s := o.flux.localSource; s != "" {
		ns, name, ok := strings.Cut(s, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			errs = append(errs, fmt.Errorf("--local-source must be NAMESPACE/NAME, got %q", s))
		} else {
			o.flux.source = &types.NamespacedName{Namespace: ns, Name: name}
		}
	}
	caps, err := helmrender.TemplateCapabilities(o.flux.kubeVersion, o.flux.apiVersions)
	if err != nil {
		errs = append(errs, fmt.Errorf("--kube-version: %w", err))
	}
	o.flux.caps = caps
	return errors.Join(errs...)
}

// loadFlux renders --local as Flux would apply it (fluxlocal) and
// indexes every root that rendered. scope, when not nil, places the kinds
// the cluster serves; the rest are placed offline. A root that failed is
// in Flux.Failed(): the caller reports it after what the others declare.
func (o *sourceOptions) loadFlux(ctx context.Context, scope provenance.Scope) (*loadedSource, error) {
	dir, err := filepath.Abs(o.local)
	if err != nil {
		return nil, err
	}
	files, rev, err := fluxlocal.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--local %s: %w", o.local, err)
	}
	path := ""
	if len(o.repo.Paths) == 1 {
		path = o.repo.Paths[0]
	}
	res, err := fluxlocal.Render(ctx, fluxlocal.Options{
		Files: files, Revision: rev, Path: path, LocalSource: o.flux.source,
		Capabilities: o.flux.caps, Scope: scope, DefaultNamespace: o.defaultNamespace,
	})
	if err != nil {
		return nil, err
	}
	var objs []map[string]any
	for _, rt := range res.Roots {
		for _, obj := range rt.Objects {
			objs = append(objs, obj.Object)
		}
	}
	offline := offlinescope.New(objs)
	if scope == nil {
		scope = offline
	}
	snap, ignores := res.Snapshot(&provenance.Indexer{Scope: scope, DefaultNamespace: o.defaultNamespace}, dir)
	return &loadedSource{Snapshot: snap, Scope: offline, Repo: dir, Ignores: ignores, Flux: res}, nil
}

// rootsFailed joins the errors of the roots that failed to render or
// index, nil when none did (or the source is not --source flux). A
// command prints what the others declare, then fails with it.
func (s *loadedSource) rootsFailed() error {
	if s.Flux == nil {
		return nil
	}
	return errors.Join(s.Flux.Failed()...)
}

// warnRoots tells on stderr which roots were skipped and which objects
// two roots declare.
func (s *loadedSource) warnRoots(w io.Writer) {
	if s.Flux == nil {
		return
	}
	for _, rt := range s.Flux.Roots {
		if rt.Skipped != "" {
			fmt.Fprintf(w, "Warning: %s is not rendered: %s\n", rt, rt.Skipped)
		}
	}
	for _, c := range s.Snapshot.Conflicts() {
		var others []string
		for _, r := range c.Others {
			others = append(others, r.Name)
		}
		fmt.Fprintf(w, "Warning: %s is declared by %s and by %s\n", c.Key, c.Owner.Name, strings.Join(others, ", "))
	}
}
