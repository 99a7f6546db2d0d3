package server

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/peers"
	"github.com/gitgate/gitgate/sources/receiver"
)

// newSignal builds the replicas' sync signal over the Syncers: a peer's
// announcement triggers them, and it compares with their Revision.
func newSignal(c SyncSignalConfig, cfg *rest.Config, syncers *syncerList, log logr.Logger) (*peers.Signal, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("sync signal client: %w", err)
	}
	return &peers.Signal{
		Client: client, Namespace: c.Namespace, Name: c.ConfigMap, Trigger: syncers.Trigger, Log: log,
		Current: syncers.Revision,
	}, nil
}

// announce is every Syncer's OnLoad: once every source has loaded a
// revision, the other replicas hear of it. Nil when signal is off.
func announce(signal *peers.Signal, syncers *syncerList) func(provenance.Revision) {
	if signal == nil {
		return nil
	}
	return func(provenance.Revision) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rev := syncers.Revision(); rev != "" {
			signal.Announce(ctx, rev)
		}
	}
}

// newReceiver builds the push-notification server; nil when it is off.
func newReceiver(c ReceiverConfig, t receiver.Triggerer, log logr.Logger) (*receiver.Server, error) {
	if c.Addr == "" {
		return nil, nil
	}
	secret, err := receiver.LoadSecret(c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("--receiver-secret-file: %w", err)
	}
	return &receiver.Server{Addr: c.Addr, Handler: &receiver.Handler{Secret: secret, Trigger: t, Log: log}}, nil
}
