package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/drift"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/webhook"
)

// driftScanOptions are the flags of serve's background drift scan.
type driftScanOptions struct {
	interval  time.Duration
	configMap string
	namespace string
}

func (o *driftScanOptions) BindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.interval, "drift-scan-interval", 10*time.Minute, "How often to compare the live cluster with the enforced revision (gitgate_drift_objects and the status ConfigMap); 0 turns it off. One replica scans: the holder of the Lease named like --drift-status-configmap in --drift-status-namespace. Reads by LIST per kind and namespace: needs list (or get) on the declared kinds (ClusterRoles gitgate-drift and gitgate-drift-extra); an object it may not read is reported unreadable.")
	fs.StringVar(&o.configMap, "drift-status-configmap", "gitgate-drift", "ConfigMap holding the latest drift summary (revision, time, counts, drifted objects with field paths, never values).")
	fs.StringVar(&o.namespace, "drift-status-namespace", defaultNamespace(), "Namespace of --drift-status-configmap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
}

// Validate reports a negative interval or a missing ConfigMap name.
func (o *driftScanOptions) Validate() error {
	var errs []error
	if o.interval < 0 {
		errs = append(errs, fmt.Errorf("--drift-scan-interval must not be negative, got %s", o.interval))
	}
	if o.interval > 0 && (o.configMap == "" || o.namespace == "") {
		errs = append(errs, errors.New("--drift-status-configmap and --drift-status-namespace must not be empty"))
	}
	return errors.Join(errs...)
}

// setupPolicyAndDrift wires the policy (setupPolicy) and adds the drift
// scan.
func setupPolicyAndDrift(mgr ctrl.Manager, cfg *rest.Config, o *serveOptions, h *webhook.Handler, composer *provenance.Composer, log logr.Logger) error {
	if err := setupPolicy(mgr, cfg, &o.policy, h, composer, log); err != nil {
		return err
	}
	return o.driftScan.add(mgr, cfg, composer.Store, o.fields, o.ignoreRules, log)
}

// add adds the scanner to mgr; nothing when it is off. Every replica
// stands for the Lease named like the status ConfigMap, and only its
// holder scans. Objects are judged as serve judges a person's create of
// them, with fields and ignore rules.
func (o *driftScanOptions) add(mgr ctrl.Manager, cfg *rest.Config, store *provenance.Store, fields string, rules []provenance.IgnoreRule, log logr.Logger) error {
	if o.interval == 0 {
		return nil
	}
	ignores, err := provenance.CompileIgnores(rules)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(scanConfig(cfg))
	if err != nil {
		return fmt.Errorf("drift client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("drift client: %w", err)
	}
	id, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("drift scan election: %w", err)
	}
	log = log.WithName("drift")
	return mgr.Add(runnable{&drift.Elected{
		Scanner: &drift.Scanner{
			Interval:  o.interval,
			Snapshots: store,
			Live:      &drift.Cluster{Client: dyn, Mapper: mgr.GetRESTMapper()},
			Checker:   &provenance.Checker{Fields: provenance.FieldMode(fields), Ignores: ignores},
			Status:    &drift.ConfigMapStatus{Client: kube, Namespace: o.namespace, Name: o.configMap},
			Log:       log,
		},
		Leases:    kube.CoordinationV1(),
		Namespace: o.namespace,
		Name:      o.configMap,
		// The pod's name, and a part that tells a restarted pod apart.
		Identity: id + "_" + string(uuid.NewUUID()),
		Log:      log,
	}})
}

// scanConfig is cfg with room for the scan's reads: one LIST per declared
// kind and namespace, a GET per object only where LIST is refused.
// client-go's default of 5 requests a second would make a scan of 3,000
// GETs outlast a 10-minute interval; the API server's priority and
// fairness still shares it out among clients.
func scanConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 50, 100
	return c
}
