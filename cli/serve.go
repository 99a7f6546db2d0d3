package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/go-logr/logr"
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
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/gitgate/gitgate/dryrun"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/gitsync"
	"github.com/gitgate/gitgate/webhook"
)

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
	mgr, err := newManager(cfg, o, cert, managerCache(o))
	if err != nil {
		return err
	}
	composer, syncers, err := newSources(o, mgr, log)
	if err != nil {
		return err
	}
	handler, err := newHandler(o, mgr, composer.Store, syncers.repos())
	if err != nil {
		return err
	}
	exemptSelf(ctx, cfg, &handler.Identities, log)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dry-run client: %w", err)
	}
	handler.Defaults = &dryrun.Defaulter{Client: dyn, Mapper: mgr.GetRESTMapper(), Namespace: o.policy.dryRunNamespace}
	if err := setupPolicyAndDrift(mgr, cfg, o, handler, composer, log); err != nil {
		return err
	}
	// GetWebhookServer also adds the server to the manager's runnables.
	mgr.GetWebhookServer().Register("/validate", webhook.NewHTTPHandler(handler, o.maxRequestBytes))
	recv, err := o.git.receiver(syncers, log.WithName("receiver"))
	if err != nil {
		return err
	}
	signal, err := o.git.peers(cfg, syncers, log.WithName("peers"))
	if err != nil {
		return err
	}
	runnables := []interface{ Start(context.Context) error }{cert}
	for _, s := range syncers {
		runnables = append(runnables, s)
	}
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
	if err := addHealthChecks(mgr, composer, cert); err != nil {
		return err
	}
	log.Info("starting", "version", version, "source", o.source, "repos", syncers.repos().URL, "roots", syncers.roots(), "fluxNamespaces", o.flux.namespaces, "fields", o.fields)
	return mgr.Start(ctx)
}

// newManager creates the controller-runtime manager with gitgate's webhook
// server (TLS from cert), metrics and health probes.
func newManager(cfg *rest.Config, o *serveOptions, cert certSource, objects cacheSetup) (ctrl.Manager, error) {
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
		Scheme:                 objects.scheme,
		Cache:                  objects.cache,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// newSources builds the Git side: one Syncer per source (--repo-url or
// each of --sources-file), all feeding one Composer whose Store the
// webhook reads. Every root is expected before the first sync, so
// readiness waits for each to load once.
func newSources(o *serveOptions, mgr ctrl.Manager, log logr.Logger) (*provenance.Composer, syncerList, error) {
	composer := &provenance.Composer{Store: &provenance.Store{}, Log: log.WithName("roots")}
	if o.source == sourceFlux {
		return composer, nil, addFluxWatcher(o, mgr, composer, log)
	}
	warnUnverified(log.WithName("git"), o.sources)
	var syncers syncerList
	for _, src := range o.sources {
		s, err := newSyncer(src, o.defaultNamespace, mgr, composer, log)
		if err != nil {
			return nil, nil, err
		}
		composer.Expect(s.RootsOf()...)
		syncers = append(syncers, s)
	}
	return composer, syncers, nil
}

// newSyncer builds the Syncer of one source: Git source, verifier and the
// template of its roots' Indexers.
func newSyncer(src gitSource, defaultNamespace string, mgr ctrl.Manager, composer *provenance.Composer, log logr.Logger) (*gitsync.Syncer, error) {
	what := "source " + src.name + ": "
	if src.name == "" {
		what = ""
	}
	source, err := src.git.source(src.url, src.ref)
	if err != nil {
		return nil, fmt.Errorf("%s%w", what, err)
	}
	verifier, err := src.git.verifier()
	if err != nil {
		return nil, fmt.Errorf("%s%w", what, err)
	}
	url := gitsource.RedactURL(src.url)
	name := src.name
	if name == "" {
		name = url
	}
	return &gitsync.Syncer{
		Source:   source,
		Name:     name,
		URL:      url,
		Indexer:  &provenance.Indexer{Scope: mapperScope{mgr.GetRESTMapper()}, DefaultNamespace: defaultNamespace},
		Composer: composer,
		Roots:    src.paths,
		Interval: src.interval,
		Verifier: verifier,
		Log:      log.WithName("git").WithValues("source", name, "repo", url, "ref", src.ref.String()),
	}, nil
}

// syncerList is every Syncer; a push notification or a peer's signal
// triggers them all (each resolves its ref, which is cheap).
type syncerList []*gitsync.Syncer

// Trigger asks every source for a sync now.
func (l syncerList) Trigger() {
	for _, s := range l {
		s.Trigger()
	}
}

// Revision is the head every source last brought its roots to, one per
// source, for replicas to compare.
func (l syncerList) Revision() string {
	revs := make([]string, len(l))
	for i, s := range l {
		revs[i] = s.Revision()
		if revs[i] == "" {
			return "" // not every source has synced: nothing to announce
		}
	}
	return strings.Join(revs, ",")
}

// roots names every root of every source.
func (l syncerList) roots() []string {
	var out []string
	for _, s := range l {
		for _, r := range s.RootsOf() {
			out = append(out, r.String())
		}
	}
	return out
}

// repos is the watched repositories for messages that name no root.
func (l syncerList) repos() webhook.Repo {
	if len(l) == 0 {
		return webhook.Repo{URL: "the Flux GitRepositories"}
	}
	urls := make([]string, len(l))
	for i, s := range l {
		urls[i] = s.URL
	}
	return webhook.Repo{URL: strings.Join(urls, ", ")}
}

// newHandler builds the admission handler over the store's snapshots.
func newHandler(o *serveOptions, mgr ctrl.Manager, store *provenance.Store, repo webhook.Repo) (*webhook.Handler, error) {
	ignores, err := provenance.CompileIgnores(o.ignoreRules)
	if err != nil {
		return nil, err
	}
	// One cache of decoded manifests for both checkers: the same objects
	// come back whoever writes them.
	decoded := provenance.NewDecodedCache(provenance.DefaultDecodedEntries, provenance.DefaultDecodedBytes)
	controllers := webhook.ControllerChecker(ignores)
	controllers.Decoded = decoded
	handler := &webhook.Handler{
		Identities: o.identities.identities,
		Skip:       o.identities.skip,
		Snapshots:  store,
		Checker:    &provenance.Checker{Fields: provenance.FieldMode(o.fields), Ignores: ignores, Decoded: decoded},
		// A controller may change what Git does not declare, whatever
		// --fields says.
		Controllers:     controllers,
		Kinds:           mgr.GetRESTMapper(),
		Repo:            repo,
		DenialHint:      o.denialHint,
		DecisionTimeout: o.decisionTimeout,
		TokenAudiences:  o.identities.tokenAudiences,
	}
	handler.Repo.Browse = o.repoBrowseURL
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

// addHealthChecks: /readyz passes once every root has loaded once, a
// certificate is healthy and the webhook server listens.
func addHealthChecks(mgr ctrl.Manager, composer *provenance.Composer, cert certSource) error {
	checks := map[string]healthz.Checker{
		"git":         func(*http.Request) error { return composer.Ready() },
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
