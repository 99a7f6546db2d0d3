// Package peers lets gitgate's replicas agree on the revision they enforce.
// A push notification reaches one replica through the Service, and polls
// run on each replica's own clock; without a signal the others would
// enforce the old revision for up to --interval. A replica that loads a new
// revision records it in one ConfigMap in gitgate's namespace; every
// replica watches that ConfigMap and syncs at once when it names a
// revision other than its own. The signal only makes a replica ask its Git
// remote sooner: what it enforces still comes from Git alone, so a forged
// signal costs an ls-remote, never a revision.
package peers

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitgate/gitgate/internal/configwatch"
)

// DefaultConfigMap is the ConfigMap the replicas signal through.
const DefaultConfigMap = "gitgate-sync"

// revisionKey holds the last revision a replica loaded, as Flux prints it.
const revisionKey = "revision"

// Signal announces this replica's revision and triggers a sync when another
// replica announces a different one.
type Signal struct {
	Client          kubernetes.Interface
	Namespace, Name string
	// Current is the revision this replica enforces ("" before the first).
	Current func() string
	// Trigger asks for a sync now; it must not block.
	Trigger func()
	Log     logr.Logger

	watch *configwatch.Watch
}

// Start watches the ConfigMap until ctx ends.
func (s *Signal) Start(ctx context.Context) error {
	s.watch = &configwatch.Watch{Client: s.Client, Namespace: s.Namespace, Name: s.Name, OnChange: s.observe}
	return s.watch.Start(ctx)
}

func (s *Signal) observe(cm *corev1.ConfigMap) {
	if cm == nil {
		return
	}
	if rev := cm.Data[revisionKey]; rev != "" && rev != s.Current() {
		s.Log.V(1).Info("a replica loaded another revision; syncing now", "announced", rev, "current", s.Current())
		s.Trigger()
	}
}

// Announce records that this replica loaded rev. Errors are logged, not
// returned: the replicas still converge by polling.
func (s *Signal) Announce(ctx context.Context, rev string) {
	if err := s.write(ctx, rev); err != nil {
		s.Log.Error(err, "cannot tell the other replicas about the new revision; they load it at their next poll", "revision", rev)
	}
}

func (s *Signal) write(ctx context.Context, rev string) error {
	cms := s.Client.CoreV1().ConfigMaps(s.Namespace)
	cm, err := cms.Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace}, Data: map[string]string{revisionKey: rev}}
		if _, err = cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			return wrap(err)
		}
		// Another replica created it first: update it as below.
		cm, err = cms.Get(ctx, s.Name, metav1.GetOptions{})
	}
	if err != nil {
		return wrap(err)
	}
	if cm.Data[revisionKey] == rev {
		return nil
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[revisionKey] = rev
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Another replica announced meanwhile; its watch event reaches us.
		return nil
	}
	return wrap(err)
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("write the sync ConfigMap: %w", err)
}
