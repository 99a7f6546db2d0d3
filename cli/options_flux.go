package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitgate/gitgate/sources/fluxsync"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// fluxOptions are the flags of --source flux: which namespaces' Flux
// objects to watch and how often a GitRepository may be polled.
type fluxOptions struct {
	namespaces  []string
	minInterval time.Duration
}

func (o *fluxOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.namespaces, "flux-namespace", nil, "With --source flux: a namespace whose GitRepositories and Kustomizations are enforced; repeatable. Default: every namespace. A Kustomization's GitRepository must be in a watched namespace.")
	fs.DurationVar(&o.minInterval, "flux-min-interval", fluxsync.DefaultMinInterval, "With --source flux: the shortest time between two polls of one GitRepository, whatever its spec.interval. A change of the GitRepository (source-controller recording a new revision) polls at once.")
}

// validate checks the Flux flags, and that no flag of --source repo is
// set: the GitRepositories say where, which ref and with which
// credentials.
func (o *serveOptions) validateFlux() []error {
	var errs []error
	if o.repoURL != "" || o.sourcesFile != "" || len(o.paths) > 0 || o.ref != (gitsource.Ref{}) || o.git.perSourceFlux() {
		errs = append(errs, errors.New("--source flux excludes --repo-url, --sources-file, --path, the ref flags and the credential, CA and verify flags: each GitRepository names its own"))
	}
	if o.git.receiverAddr != "" {
		errs = append(errs, errors.New("--source flux excludes --receiver-bind-address: a change of a GitRepository (Flux's own receiver) already triggers a poll"))
	}
	for _, ns := range o.flux.namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--flux-namespace %q: %s", ns, msgs[0]))
		}
	}
	if o.flux.minInterval <= 0 {
		errs = append(errs, fmt.Errorf("--flux-min-interval must be positive, got %s", o.flux.minInterval))
	}
	return errs
}
