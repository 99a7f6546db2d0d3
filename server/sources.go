package server

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/gitsync"
	"github.com/gitgate/gitgate/sources/peers"
)

// sources is the declared side of the server: the Composer whose Store
// the webhook reads and, with SourceRepo, the Syncers that feed it and the
// replicas' sync signal between them.
type sources struct {
	composer *provenance.Composer
	syncers  *syncerList
	// signal is nil when it is off or SourceRepo is not named: every
	// replica watches the same Flux and Argo CD objects and polls on each
	// change.
	signal *peers.Signal
	// listed are the watchers' checks that they have listed what they
	// enforce, so that one driver's loaded roots do not pass readiness
	// while another has not yet said which roots it expects.
	listed []func() error
}

// Ready fails until every driver has listed its roots and every expected
// root has loaded once.
func (s *sources) Ready() error {
	for _, listed := range s.listed {
		if err := listed(); err != nil {
			return err
		}
	}
	return s.composer.Ready()
}

// driver adds one source driver to the manager, feeding src's Composer,
// and returns its check that it has listed its roots (nil: its roots are
// expected from the start).
type driver func(c Config, cfg *rest.Config, mgr ctrl.Manager, src *sources, log logr.Logger) (func() error, error)

// drivers builds each driver kind of Config.Source.
var drivers = map[string]driver{SourceRepo: addSyncers, SourceFlux: addFluxWatcher, SourceArgoCD: addArgoCDWatcher}

// newSources builds every driver c.Source names, all feeding one
// Composer: one Syncer per Git source, the Flux watcher, the Argo CD
// watcher. Their root names never meet. Readiness waits for each watcher
// to list its roots and for every root so expected to load once.
func newSources(c Config, cfg *rest.Config, mgr ctrl.Manager, log logr.Logger) (*sources, error) {
	return buildSources(c, cfg, mgr, log, drivers)
}

// buildSources is newSources with the drivers to build from.
func buildSources(c Config, cfg *rest.Config, mgr ctrl.Manager, log logr.Logger, with map[string]driver) (*sources, error) {
	if len(c.Source) == 0 {
		return nil, errors.New("no source driver")
	}
	for i, kind := range c.Source {
		if with[kind] == nil || slices.Contains(c.Source[:i], kind) {
			return nil, fmt.Errorf("source driver %q unknown or named twice", kind)
		}
	}
	src := &sources{
		composer: &provenance.Composer{Store: &provenance.Store{}, Log: log.WithName("roots")},
		syncers:  &syncerList{},
	}
	for _, kind := range SourceKinds {
		if !c.Uses(kind) {
			continue
		}
		listed, err := with[kind](c, cfg, mgr, src, log)
		if err != nil {
			return nil, err
		}
		if listed != nil {
			src.listed = append(src.listed, listed)
		}
	}
	return src, nil
}

// addSyncers is the driver of SourceRepo: one Syncer per Git source, and
// the replicas' sync signal between them. Every root is expected before
// the first sync.
func addSyncers(c Config, cfg *rest.Config, mgr ctrl.Manager, src *sources, log logr.Logger) (func() error, error) {
	warnUnverified(log.WithName("git"), c.Sources)
	if c.SyncSignal.ConfigMap != "" && len(c.Sources) > 0 {
		var err error
		if src.signal, err = newSignal(c.SyncSignal, cfg, src.syncers, log.WithName("peers")); err != nil {
			return nil, err
		}
	}
	onLoad := announce(src.signal, src.syncers)
	for _, gs := range c.Sources {
		s, err := newSyncer(gs, c.DefaultNamespace, mgr, src.composer, onLoad, log)
		if err != nil {
			return nil, err
		}
		src.composer.Expect(s.RootsOf()...)
		src.syncers.all = append(src.syncers.all, s)
	}
	return nil, nil
}

// newSyncer builds the Syncer of one source: Git source, verifier, the
// template of its roots' Indexers, and onLoad (nil for none).
func newSyncer(src GitSource, defaultNamespace string, mgr ctrl.Manager, composer *provenance.Composer, onLoad func(provenance.Revision), log logr.Logger) (*gitsync.Syncer, error) {
	what := "source " + src.Name + ": "
	if src.Name == "" {
		what = ""
	}
	source, err := src.Open()
	if err != nil {
		return nil, fmt.Errorf("%s%w", what, err)
	}
	verifier, err := src.verifier()
	if err != nil {
		return nil, fmt.Errorf("%s%w", what, err)
	}
	url := gitsource.RedactURL(src.URL)
	name := src.Name
	if name == "" {
		name = url
	}
	return &gitsync.Syncer{
		Source:   source,
		Name:     name,
		URL:      url,
		Indexer:  &provenance.Indexer{Scope: MapperScope{mgr.GetRESTMapper()}, DefaultNamespace: defaultNamespace},
		Composer: composer,
		Roots:    src.Paths,
		Interval: src.Interval,
		Verifier: verifier,
		OnLoad:   onLoad,
		Log:      log.WithName("git").WithValues("source", name, "repo", url, "ref", src.Ref.String()),
	}, nil
}
