package server

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/drift"
	"github.com/gitgate/gitgate/provenance"
)

// addDriftScan adds the scanner to mgr; nothing when it is off. Every
// replica stands for the Lease named like the status ConfigMap, and only
// its holder scans. Objects are judged as the webhook judges a person's
// create of them, with c's fields and ignore rules.
func addDriftScan(mgr ctrl.Manager, cfg *rest.Config, c Config, store *provenance.Store, log logr.Logger) error {
	d := c.DriftScan
	if d.Interval == 0 {
		return nil
	}
	dyn, err := dynamic.NewForConfig(ScanConfig(cfg))
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
			Interval:  d.Interval,
			Snapshots: store,
			Live:      &drift.Cluster{Client: dyn, Mapper: mgr.GetRESTMapper()},
			Checker:   &provenance.Checker{Fields: c.Fields, Ignores: c.Ignores, GitOps: c.GitOpsKinds},
			Status:    &drift.ConfigMapStatus{Client: kube, Namespace: d.Namespace, Name: d.ConfigMap},
			Log:       log,
		},
		Leases:    kube.CoordinationV1(),
		Namespace: d.Namespace,
		Name:      d.ConfigMap,
		// The pod's name, and a part that tells a restarted pod apart.
		Identity: id + "_" + string(uuid.NewUUID()),
		Log:      log,
	}})
}

// ScanConfig is cfg with room for a drift scan's reads: one LIST per
// declared kind and namespace, a GET per object only where LIST is
// refused. client-go's default of 5 requests a second would make a scan
// of 3,000 GETs outlast a 10-minute interval; the API server's priority
// and fairness still shares it out among clients. `gitgate drift` reads
// the same way.
func ScanConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 50, 100
	return c
}
