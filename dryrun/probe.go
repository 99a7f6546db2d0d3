package dryrun

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// DefaultProbeInterval is how often Probe tries the sandbox.
const DefaultProbeInterval = time.Minute

// probeName names the ConfigMap Probe dry-run-creates: nothing is stored.
const probeName = "gitgate-sandbox-probe"

var sandboxReady = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "gitgate_dry_run_sandbox_ready",
	Help: "1 when gitgate's last dry-run create in its sandbox namespace (--dry-run-namespace) succeeded, else 0: without it every person's create of a declared object is refused as defaults-unknown.",
})

func init() { metrics.Registry.MustRegister(sandboxReady) }

// errNoSandbox is the state before the first probe: not known to work.
var errNoSandbox = errors.New("the dry-run sandbox has not been tried yet")

// Probe tries the Defaulter's sandbox at start and every Interval with a
// dry-run create of an empty ConfigMap, the request a person's early
// create makes gitgate send, and reports what it finds: in the log when
// the state changes, in gitgate_dry_run_sandbox_ready, and through
// Healthy, the /readyz check dry-run-sandbox. Without the sandbox
// namespace or gitgate's create rights in it, every person's create of a
// declared object is refused (defaults-unknown); the probe says so at
// start-up instead of leaving people to find out one refusal at a time.
type Probe struct {
	Defaulter *Defaulter
	// Interval between tries; 0 is DefaultProbeInterval.
	Interval time.Duration
	Log      logr.Logger

	last atomic.Pointer[error]
}

// Start probes until ctx ends.
func (p *Probe) Start(ctx context.Context) error {
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultProbeInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := p.try(ctx)
		if ctx.Err() != nil {
			// Stopping, not a broken sandbox: nothing to report.
			return nil
		}
		p.record(err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Healthy is nil while the last try succeeded, else why it failed.
func (p *Probe) Healthy() error {
	if err := p.last.Load(); err != nil {
		return *err
	}
	return errNoSandbox
}

// record keeps the outcome and logs a change of state.
func (p *Probe) record(err error) {
	prev := p.last.Swap(&err)
	changed := prev == nil || (*prev == nil) != (err == nil)
	if err != nil {
		sandboxReady.Set(0)
		if changed {
			p.Log.Error(err, "dry-run sandbox unavailable: every person's create of an object Git declares is refused (defaults-unknown) until it works", "namespace", p.Defaulter.Namespace)
		}
		return
	}
	sandboxReady.Set(1)
	if changed {
		p.Log.Info("dry-run sandbox ready", "namespace", p.Defaulter.Namespace)
	}
}

// try dry-run-creates the probe ConfigMap and names what is missing.
func (p *Probe) try(ctx context.Context) error {
	ns := p.Defaulter.Namespace
	if ns == "" {
		return errors.New("no dry-run namespace is set (--dry-run-namespace)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetName(probeName)
	u.SetNamespace(ns)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	_, err := p.Defaulter.Client.Resource(gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		// AlreadyExists: the namespace and the right are there; the
		// stray object is ErrSandboxOccupied's business, per kind.
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the dry-run namespace %q does not exist: create it as manifests/base/dryrun.yaml does: %w", ns, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("gitgate may not create in the dry-run namespace %q: bind it the Role gitgate-dry-run there as manifests/base/dryrun.yaml does: %w", ns, err)
	default:
		return fmt.Errorf("dry-run create in %q: %w", ns, err)
	}
}
