package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/convert"
	"github.com/gitgate/gitgate/dryrun"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/webhook"
)

// newHandler builds the admission handler over the store's snapshots.
func newHandler(c Config, mgr ctrl.Manager, store *provenance.Store, repo webhook.Repo) *webhook.Handler {
	// One cache of decoded manifests for both checkers: the same objects
	// come back whoever writes them.
	decoded := provenance.NewDecodedCache(provenance.DefaultDecodedEntries, provenance.DefaultDecodedBytes)
	controllers := webhook.ControllerChecker(c.Ignores)
	controllers.Decoded, controllers.GitOps = decoded, c.GitOpsKinds
	handler := &webhook.Handler{
		Identities: c.Identities,
		Skip:       c.Skip,
		Snapshots:  store,
		Checker:    &provenance.Checker{Fields: c.Fields, Ignores: c.Ignores, Decoded: decoded, GitOps: c.GitOpsKinds},
		// A controller may change what Git does not declare, whatever
		// --fields says.
		Controllers:     controllers,
		Kinds:           mgr.GetRESTMapper(),
		Repo:            repo,
		DenialHint:      c.DenialHint,
		DecisionTimeout: c.DecisionTimeout,
		TokenAudiences:  c.TokenAudiences,
		Pods:            podReader{mgr.GetAPIReader()},
		Secrets:         secretReader{mgr.GetAPIReader()},
		GitOpsKinds:     c.GitOpsKinds,
	}
	handler.Repo.Browse = c.RepoBrowseURL
	return handler
}

// addConversions lets the handler's checkers judge a request made in
// another version than Git's: how each kind converts (a watch of
// CustomResourceDefinitions, on every replica) and the object read in
// Git's version when the API server converts field by field.
func addConversions(cfg *rest.Config, mgr ctrl.Manager, handler *webhook.Handler, log logr.Logger) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("conversion client: %w", err)
	}
	conv := &convert.Conversions{Client: dyn, Log: log.WithName("conversions")}
	if err := mgr.Add(runnable{conv}); err != nil {
		return err
	}
	handler.Conversions, handler.Stored = conv, &convert.Stored{Client: dyn, Mapper: mgr.GetRESTMapper()}
	for _, c := range []webhook.Checker{handler.Checker, handler.Controllers} {
		if pc, ok := c.(*provenance.Checker); ok {
			pc.Conversions = conv
		}
	}
	return nil
}

// exemptSelf learns gitgate's own user name (WhoAmI) and exempts it:
// gitgate's own writes (Events, its certificate Secret) must never be
// judged, or a denied Event would beget another. Without an answer gitgate
// starts all the same and says so; its Events are then left alone only by
// --skip-resource.
func exemptSelf(ctx context.Context, cfg *rest.Config, ids *webhook.Identities, log logr.Logger) {
	client, err := kubernetes.NewForConfig(cfg)
	if err == nil {
		var user string
		user, err = WhoAmI(ctx, client)
		if err == nil && user != "" {
			ids.ExemptUsers = append(ids.ExemptUsers, user)
			log.Info("exempting gitgate's own identity", "user", user)
			return
		}
	}
	log.Error(err, "cannot learn gitgate's own user name; its own writes are judged like anyone's")
}

// sandboxCheck names the /readyz check of the dry-run sandbox. It fails
// only where someone asks for detail (/readyz?verbose, or
// /readyz/dry-run-sandbox): the plain /readyz that readiness probes read
// passes without the sandbox, since then only people's early creates of
// declared objects are refused, and taking every replica out of service
// would refuse every write.
const sandboxCheck = "dry-run-sandbox"

// sandboxDetail is the readyz check of the probe: its state when the
// request asks for detail, else nil.
func sandboxDetail(probe *dryrun.Probe) func(*http.Request) error {
	return func(r *http.Request) error {
		if _, verbose := r.URL.Query()["verbose"]; verbose || strings.HasSuffix(r.URL.Path, "/"+sandboxCheck) {
			return probe.Healthy()
		}
		return nil
	}
}

// newDefaulter learns the API server's defaults for Git's manifest by a
// dry-run create in the sandbox namespace, and adds the Probe that says at
// start-up, in the log, a metric and /readyz, whether the sandbox works.
func newDefaulter(cfg *rest.Config, mgr ctrl.Manager, namespace string, log logr.Logger) (webhook.Defaulter, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dry-run client: %w", err)
	}
	d := &dryrun.Defaulter{Client: dyn, Mapper: mgr.GetRESTMapper(), Namespace: namespace}
	probe := &dryrun.Probe{Defaulter: d, Log: log.WithName("dry-run")}
	if err := mgr.Add(runnable{probe}); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck(sandboxCheck, sandboxDetail(probe)); err != nil {
		return nil, err
	}
	return d, nil
}
