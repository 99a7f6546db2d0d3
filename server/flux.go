package server

import (
	"context"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxsync"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// cacheSetup is the manager's scheme and cache options: client-go's kinds,
// and with SourceFlux, Flux's GitRepositories, Kustomizations,
// HelmReleases and Helm sources (HelmRepositories, HelmCharts,
// OCIRepositories), cached in the watched namespaces only; with
// SourceArgoCD, Applications and AppProjects (argoCDCache). Both drivers
// share one manager, hence one cache of both.
type cacheSetup struct {
	scheme *runtime.Scheme
	cache  cache.Options
	client client.Options
}

func managerCache(c Config) cacheSetup {
	if !c.Uses(SourceFlux) && !c.Uses(SourceArgoCD) {
		return cacheSetup{}
	}
	adders := []func(*runtime.Scheme) error{clientgoscheme.AddToScheme}
	if c.Uses(SourceFlux) {
		adders = append(adders, sourcev1.AddToScheme, kustomizev1.AddToScheme, helmv2.AddToScheme)
	}
	s := runtime.NewScheme()
	for _, add := range adders {
		if err := add(s); err != nil {
			panic(err) // static types: cannot fail
		}
	}
	setup := cacheSetup{scheme: s, cache: cache.Options{Scheme: s}}
	if c.Uses(SourceFlux) && len(c.Flux.Namespaces) > 0 {
		setup.cache.ByObject = fluxCache(c.Flux.Namespaces)
	}
	if c.Uses(SourceArgoCD) {
		argoCDCache(c, &setup)
	}
	return setup
}

// fluxCache limits Flux's kinds to the watched namespaces.
func fluxCache(watched []string) map[client.Object]cache.ByObject {
	namespaces := map[string]cache.Config{}
	for _, ns := range watched {
		namespaces[ns] = cache.Config{}
	}
	return map[client.Object]cache.ByObject{
		&sourcev1.GitRepository{}:    {Namespaces: namespaces},
		&kustomizev1.Kustomization{}: {Namespaces: namespaces},
		&helmv2.HelmRelease{}:        {Namespaces: namespaces},
		&sourcev1.HelmRepository{}:   {Namespaces: namespaces},
		&sourcev1.HelmChart{}:        {Namespaces: namespaces},
		&sourcev1.OCIRepository{}:    {Namespaces: namespaces},
	}
}

// addFluxWatcher adds the Flux driver of SourceFlux to the manager: it
// lists GitRepositories, Kustomizations, HelmReleases and Helm sources
// from the manager's cache, reads the Secrets and ConfigMaps they name
// with the uncached reader, one by one, and the cluster's capabilities
// for Helm's templates from discovery.
func addFluxWatcher(c Config, _ *rest.Config, mgr ctrl.Manager, src *sources, log logr.Logger) (func() error, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("discovery for the HelmReleases' capabilities: %w", err)
	}
	w := &fluxsync.Watcher{
		Reader:       mgr.GetClient(),
		Informers:    mgr.GetCache(),
		APIReader:    mgr.GetAPIReader(),
		Namespaces:   c.Flux.Namespaces,
		Indexer:      &provenance.Indexer{Scope: MapperScope{mgr.GetRESTMapper()}, DefaultNamespace: c.DefaultNamespace},
		Composer:     src.composer,
		MinInterval:  c.Flux.MinInterval,
		CacheDir:     c.Flux.CacheDir,
		InsecureHTTP: c.Flux.InsecureHTTP,
		Helm: &fluxsync.Helm{Capabilities: func(context.Context) (helmrender.Capabilities, error) {
			return helmrender.CapabilitiesFrom(dc)
		}},
		Log: log.WithName("flux"),
	}
	if err := mgr.Add(runnable{w}); err != nil {
		return nil, fmt.Errorf("add the Flux watcher: %w", err)
	}
	return w.Listed, nil
}
