package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/gitgate/gitgate/dryrun"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/gitsource"
	"github.com/gitgate/gitgate/provenance/gitsync"
	"github.com/gitgate/gitgate/webhook"
)

func runServe(args []string, stderr io.Writer) int {
	var o serveOptions
	zopts := zap.Options{}
	code, ok := parseFlags("serve", args, stderr, func(fs *pflag.FlagSet) {
		o.BindFlags(fs)
		gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
		zopts.BindFlags(gofs)
		fs.AddGoFlagSet(gofs)
	})
	if !ok {
		return code
	}
	log := zap.New(zap.UseFlagOptions(&zopts))
	ctrl.SetLogger(log)
	if err := o.Validate(); err != nil {
		log.Error(err, "invalid flags")
		return 2
	}
	if err := serve(ctrl.SetupSignalHandler(), &o); err != nil {
		log.Error(err, "gitgate stopped")
		return 1
	}
	return 0
}

func serve(ctx context.Context, o *serveOptions) error {
	log := ctrl.Log.WithName("gitgate")
	limit, from, err := memoryLimit(o.memoryLimit, os.ReadFile)
	if err != nil {
		return err
	}
	applyMemoryLimit(limit)
	log.Info("memory limit", "bytes", limit, "from", from)
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cert, err := o.certs.source(cfg, log.WithName("certs"))
	if err != nil {
		return err
	}
	mgr, err := newManager(cfg, o, cert)
	if err != nil {
		return err
	}
	syncer, err := newSyncer(o, mgr, log)
	if err != nil {
		return err
	}
	handler, err := newHandler(o, mgr, syncer.Store)
	if err != nil {
		return err
	}
	exemptSelf(ctx, cfg, &handler.Identities, log)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dry-run client: %w", err)
	}
	handler.Defaults = &dryrun.Defaulter{Client: dyn, Mapper: mgr.GetRESTMapper()}
	if err := setupPolicy(mgr, cfg, &o.policy, handler, syncer, log); err != nil {
		return err
	}
	// GetWebhookServer also adds the server to the manager's runnables.
	mgr.GetWebhookServer().Register("/validate", webhook.NewHTTPHandler(handler, o.maxRequestBytes))
	recv, err := o.git.receiver(syncer, log.WithName("receiver"))
	if err != nil {
		return err
	}
	signal, err := o.git.peers(cfg, syncer, log.WithName("peers"))
	if err != nil {
		return err
	}
	runnables := []interface{ Start(context.Context) error }{cert, syncer}
	if recv != nil {
		runnables = append(runnables, recv)
	}
	if signal != nil {
		runnables = append(runnables, signal)
	}
	for _, r := range runnables {
		if err := mgr.Add(runnable{r}); err != nil {
			return err
		}
	}
	if err := addHealthChecks(mgr, syncer.Store, cert); err != nil {
		return err
	}
	log.Info("starting", "version", version, "repo", gitsource.RedactURL(o.repoURL), "ref", o.ref.String(), "paths", o.paths, "fields", o.fields)
	return mgr.Start(ctx)
}

// newManager creates the controller-runtime manager with gitgate's webhook
// server (TLS from cert), metrics and health probes.
func newManager(cfg *rest.Config, o *serveOptions, cert certSource) (ctrl.Manager, error) {
	server := ctrlwebhook.NewServer(ctrlwebhook.Options{
		Host:    o.webhookHost,
		Port:    o.port,
		TLSOpts: o.certs.tlsOptions(cert),
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.healthAddr,
		PprofBindAddress:       o.pprofAddr,
		WebhookServer:          server,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// newSyncer builds the Git side: source, verifier, indexer and the store
// the webhook reads.
func newSyncer(o *serveOptions, mgr ctrl.Manager, log logr.Logger) (*gitsync.Syncer, error) {
	source, err := o.git.source(o.repoURL, o.ref)
	if err != nil {
		return nil, err
	}
	verifier, err := o.git.verifier()
	if err != nil {
		return nil, err
	}
	return &gitsync.Syncer{
		Source:   source,
		Indexer:  &provenance.Indexer{Scope: mapperScope{mgr.GetRESTMapper()}, DefaultNamespace: o.defaultNamespace},
		Store:    &provenance.Store{},
		Roots:    o.paths,
		Interval: o.interval,
		Verifier: verifier,
		Log:      log.WithName("git").WithValues("repo", gitsource.RedactURL(o.repoURL), "ref", o.ref.String()),
	}, nil
}

// newHandler builds the admission handler over the store's snapshots.
func newHandler(o *serveOptions, mgr ctrl.Manager, store *provenance.Store) (*webhook.Handler, error) {
	ignores, err := provenance.CompileIgnores(o.ignoreRules)
	if err != nil {
		return nil, err
	}
	handler := &webhook.Handler{
		Identities: o.identities.identities,
		Skip:       o.identities.skip,
		Snapshots:  store,
		Checker:    &provenance.Checker{Fields: provenance.FieldMode(o.fields), Ignores: ignores},
		// A controller may change what Git does not declare, whatever
		// --fields says.
		Controllers:     webhook.ControllerChecker(ignores),
		Kinds:           mgr.GetRESTMapper(),
		Repo:            webhook.Repo{URL: gitsource.RedactURL(o.repoURL)},
		DecisionTimeout: o.decisionTimeout,
		TokenAudiences:  o.identities.tokenAudiences,
	}
	return handler, nil
}

// exemptSelf learns gitgate's own user name (SelfSubjectReview) and
// exempts it: gitgate's own writes (Events, its certificate Secret) must
// never be judged, or a denied Event would beget another. Without an
// answer gitgate starts all the same and says so; its Events are then
// left alone only by --skip-resource.
func exemptSelf(ctx context.Context, cfg *rest.Config, ids *webhook.Identities, log logr.Logger) {
	client, err := kubernetes.NewForConfig(cfg)
	if err == nil {
		var review *authenticationv1.SelfSubjectReview
		review, err = client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err == nil && review.Status.UserInfo.Username != "" {
			ids.ExemptUsers = append(ids.ExemptUsers, review.Status.UserInfo.Username)
			log.Info("exempting gitgate's own identity", "user", review.Status.UserInfo.Username)
			return
		}
	}
	log.Error(err, "cannot learn gitgate's own user name; its own writes are judged like anyone's")
}

// addHealthChecks: /readyz passes once a revision is loaded, a certificate
// is healthy and the webhook server listens.
func addHealthChecks(mgr ctrl.Manager, store *provenance.Store, cert certSource) error {
	checks := map[string]healthz.Checker{
		"git": func(*http.Request) error {
			if store.Load() == nil {
				return errors.New("no Git revision loaded yet")
			}
			return nil
		},
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

// runnable runs on every replica: each serves admission and keeps its own
// snapshot, so none waits for leader election.
type runnable struct {
	r interface{ Start(context.Context) error }
}

func (r runnable) Start(ctx context.Context) error { return r.r.Start(ctx) }
func (runnable) NeedLeaderElection() bool          { return false }

func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}

// mapperScope answers provenance's scope questions from API discovery.
type mapperScope struct{ mapper meta.RESTMapper }

func (m mapperScope) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	mapping, err := m.mapper.RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return mapping.Scope.Name() == meta.RESTScopeNameNamespace, true, nil
}
