package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podReader tells the webhook whom a Pod runs as, for CONNECTs (exec,
// attach, port-forward), by one uncached GET per request through the
// manager's API reader: CONNECTs are rare, while a cache would list and
// watch every Pod of the cluster. It needs get on pods (ClusterRole
// gitgate), never list or watch; the webhook bounds its time and refuses
// what it cannot read.
type podReader struct{ reader client.Reader }

// ServiceAccountOf returns the Pod's spec.serviceAccountName.
func (p podReader) ServiceAccountOf(ctx context.Context, namespace, name string) (string, error) {
	var pod corev1.Pod
	if err := p.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &pod); err != nil {
		return "", fmt.Errorf("get pod: %w", err)
	}
	return pod.Spec.ServiceAccountName, nil
}
