// Package server builds gitgate's running admission server from a plain
// Config: a controller-runtime manager with the webhook server, the
// sources that feed the Composer (a Git Syncer per source, or the Flux
// watcher), the policy, the drift scan, the serving certificate, the
// memory limit, health checks, the replicas' sync signal and the push
// receiver.
//
// It knows no flags and never exits the process: package cli binds and
// validates the flags of `gitgate serve` into a Config and calls Run, and
// nothing here imports cli. A few run-time messages still name the flag
// an operator sets (--git-ca-file, --verify-commits, --memory-limit), as
// text the logs and errors have always carried.
package server

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/gitgate/gitgate/webhook"
)

// Run builds the server c describes and runs it until ctx ends. An error
// building it is returned before anything serves.
func Run(ctx context.Context, c Config) error {
	log := ctrl.Log.WithName("gitgate")
	limit, from := memoryLimit(c.MemoryLimit, os.ReadFile)
	applyMemoryLimit(limit)
	log.Info("memory limit", "bytes", limit, "from", from)
	cfg, err := RESTConfig(c.Kubeconfig, "")
	if err != nil {
		return err
	}
	cert, err := newCertSource(c.Certs, cfg, log.WithName("certs"))
	if err != nil {
		return err
	}
	mgr, err := newManager(cfg, c, cert)
	if err != nil {
		return err
	}
	src, err := newSources(c, cfg, mgr, log)
	if err != nil {
		return err
	}
	handler := newHandler(c, mgr, src.composer.Store, src.syncers.repos())
	exemptSelf(ctx, cfg, &handler.Identities, log)
	if handler.Defaults, err = newDefaulter(cfg, mgr, c.Policy.DryRunNamespace, log); err != nil {
		return err
	}
	if err := addConversions(cfg, mgr, handler, log); err != nil {
		return err
	}
	if err := setupPolicy(mgr, cfg, c.Policy, handler, src.composer, log); err != nil {
		return err
	}
	if err := addDriftScan(mgr, cfg, c, src.composer.Store, log); err != nil {
		return err
	}
	// GetWebhookServer also adds the server to the manager's runnables.
	mgr.GetWebhookServer().Register("/validate", webhook.NewHTTPHandler(handler, c.MaxRequestBytes))
	if err := addRunnables(mgr, c.Receiver, cert, src, log); err != nil {
		return err
	}
	if err := addHealthChecks(mgr, src, cert); err != nil {
		return err
	}
	log.Info("starting", "version", c.Version, "source", c.Source, "repos", src.syncers.repos().URL, "roots", src.syncers.roots(),
		"fluxNamespaces", c.Flux.Namespaces, "fields", string(c.Fields))
	return mgr.Start(ctx)
}

// newManager creates the controller-runtime manager with gitgate's webhook
// server (TLS from cert), metrics and health probes.
func newManager(cfg *rest.Config, c Config, cert certSource) (ctrl.Manager, error) {
	server := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host:    c.WebhookHost,
		Port:    c.Port,
		TLSOpts: tlsOptions(c.Certs, cert),
	})
	objects := managerCache(c)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: c.MetricsAddr},
		HealthProbeBindAddress: c.HealthAddr,
		PprofBindAddress:       c.PprofAddr,
		WebhookServer:          server,
		Scheme:                 objects.scheme,
		Cache:                  objects.cache,
		Client:                 objects.client,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// addRunnables adds what runs on every replica besides the webhook
// server: the certificate source, the Syncers, the push receiver and the
// replicas' sync signal (the last two when they are on).
func addRunnables(mgr ctrl.Manager, rc ReceiverConfig, cert certSource, src *sources, log logr.Logger) error {
	recv, err := newReceiver(rc, src.syncers, log.WithName("receiver"))
	if err != nil {
		return err
	}
	runnables := []interface{ Start(context.Context) error }{cert}
	for _, s := range src.syncers.all {
		runnables = append(runnables, s)
	}
	if recv != nil {
		runnables = append(runnables, recv)
	}
	if src.signal != nil {
		runnables = append(runnables, src.signal)
	}
	for _, r := range runnables {
		if err := mgr.Add(runnable{r}); err != nil {
			return err
		}
	}
	return nil
}

// addHealthChecks: /readyz passes once every driver has listed its roots
// and every root has loaded once, a certificate is healthy and the
// webhook server listens.
func addHealthChecks(mgr ctrl.Manager, src *sources, cert certSource) error {
	checks := map[string]healthz.Checker{
		"git":         func(*http.Request) error { return src.Ready() },
		"certificate": func(*http.Request) error { return cert.Healthy() },
		"webhook":     mgr.GetWebhookServer().StartedChecker(),
	}
	for name, check := range checks {
		if err := mgr.AddReadyzCheck(name, check); err != nil {
			return err
		}
	}
	return mgr.AddHealthzCheck("ping", healthz.Ping)
}
