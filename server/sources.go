package server

import (
	"fmt"

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
	// signal is nil when it is off, and with SourceFlux: every replica
	// watches the same Flux objects and polls on each change.
	signal *peers.Signal
}

// newSources builds the driver c.Source names: the Flux watcher, or one
// Syncer per Git source, all feeding one Composer. Every root is expected
// before the first sync, so readiness waits for each to load once.
func newSources(c Config, cfg *rest.Config, mgr ctrl.Manager, log logr.Logger) (*sources, error) {
	src := &sources{
		composer: &provenance.Composer{Store: &provenance.Store{}, Log: log.WithName("roots")},
		syncers:  &syncerList{},
	}
	switch c.Source {
	case SourceFlux:
		return src, addFluxWatcher(c, mgr, src.composer, log)
	case SourceArgoCD:
		return src, addArgoCDWatcher(c, cfg, mgr, src.composer, log)
	}
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
	return src, nil
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
