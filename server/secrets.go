package server

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretReader tells the webhook whose token a Secret holds, for a Pod
// that references Secrets by name in a namespace of agents' (or, for a
// person's Pod, controllers') service accounts: one uncached GET of the
// Secret's metadata alone (PartialObjectMetadata, through the manager's
// API reader), so its data never reaches gitgate, and no cache lists and
// watches every Secret of the cluster. RBAC cannot tell a metadata read
// from a full one: it needs get on secrets (ClusterRole gitgate), never
// list or watch. The webhook bounds its time and refuses what it cannot
// read.
type secretReader struct{ reader client.Reader }

// tokenAnnotation names the service account of a token Secret; the API
// server requires it of every Secret of type
// kubernetes.io/service-account-token.
const tokenAnnotation = "kubernetes.io/service-account.name"

// TokenOf returns the service account the Secret's token annotation
// names, and found false when there is no such Secret.
func (s secretReader) TokenOf(ctx context.Context, namespace, name string) (string, bool, error) {
	meta := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	err := s.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &meta)
	switch {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("get secret metadata: %w", err)
	}
	return meta.Annotations[tokenAnnotation], true, nil
}
