package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/server"
)

// bindDriftScanFlags binds the flags of serve's background drift scan.
func bindDriftScanFlags(fs *pflag.FlagSet, d *server.DriftScanConfig) {
	fs.DurationVar(&d.Interval, "drift-scan-interval", 10*time.Minute, "How often to compare the live cluster with the enforced revision (gitgate_drift_objects and the status ConfigMap); 0 turns it off. One replica scans: the holder of the Lease named like --drift-status-configmap in --drift-status-namespace. Reads by LIST per kind and namespace: needs list (or get) on the declared kinds (ClusterRoles gitgate-drift and gitgate-drift-extra); an object it may not read is reported unreadable.")
	fs.StringVar(&d.ConfigMap, "drift-status-configmap", "gitgate-drift", "ConfigMap holding the latest drift summary (revision, time, counts, drifted objects with field paths, never values).")
	fs.StringVar(&d.Namespace, "drift-status-namespace", defaultNamespace(), "Namespace of --drift-status-configmap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
}

// validateDriftScan reports a negative interval or a missing ConfigMap
// name.
func validateDriftScan(d server.DriftScanConfig) error {
	var errs []error
	if d.Interval < 0 {
		errs = append(errs, fmt.Errorf("--drift-scan-interval must not be negative, got %s", d.Interval))
	}
	if d.Interval > 0 && (d.ConfigMap == "" || d.Namespace == "") {
		errs = append(errs, errors.New("--drift-status-configmap and --drift-status-namespace must not be empty"))
	}
	return errors.Join(errs...)
}
