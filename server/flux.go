package server

import (
	"fmt"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxsync"
)

// cacheSetup is the manager's scheme and cache options: client-go's kinds,
// and with SourceFlux, Flux's GitRepository and Kustomization, cached in
// the watched namespaces only.
type cacheSetup struct {
	scheme *runtime.Scheme
	cache  cache.Options
	client client.Options
}

func managerCache(c Config) cacheSetup {
	if c.Source == SourceArgoCD {
		return argoCDCache(c)
	}
	if c.Source != SourceFlux {
		return cacheSetup{}
	}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sourcev1.AddToScheme, kustomizev1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // static types: cannot fail
		}
	}
	opts := cache.Options{Scheme: s}
	if len(c.Flux.Namespaces) > 0 {
		namespaces := map[string]cache.Config{}
		for _, ns := range c.Flux.Namespaces {
			namespaces[ns] = cache.Config{}
		}
		opts.ByObject = map[client.Object]cache.ByObject{
			&sourcev1.GitRepository{}:    {Namespaces: namespaces},
			&kustomizev1.Kustomization{}: {Namespaces: namespaces},
		}
	}
	return cacheSetup{scheme: s, cache: opts}
}

// addFluxWatcher adds the Flux driver of SourceFlux to the manager: it
// lists GitRepositories and Kustomizations from the manager's cache and
// reads the Secrets and ConfigMaps they name with the uncached reader, one
// by one.
func addFluxWatcher(c Config, mgr ctrl.Manager, composer *provenance.Composer, log logr.Logger) error {
	w := &fluxsync.Watcher{
		Reader:       mgr.GetClient(),
		Informers:    mgr.GetCache(),
		APIReader:    mgr.GetAPIReader(),
		Namespaces:   c.Flux.Namespaces,
		Indexer:      &provenance.Indexer{Scope: MapperScope{mgr.GetRESTMapper()}, DefaultNamespace: c.DefaultNamespace},
		Composer:     composer,
		MinInterval:  c.Flux.MinInterval,
		CacheDir:     c.Flux.CacheDir,
		InsecureHTTP: c.Flux.InsecureHTTP,
		Log:          log.WithName("flux"),
	}
	if err := mgr.Add(runnable{w}); err != nil {
		return fmt.Errorf("add the Flux watcher: %w", err)
	}
	return nil
}
