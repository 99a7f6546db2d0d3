package server

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientConfig finds a kubeconfig as kubectl does: path, else
// $KUBECONFIG, else ~/.kube/config, else the in-cluster config; and in it
// the named context, else the current one. serve and the client commands
// both connect through it.
func ClientConfig(path, kubeContext string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
}

// RESTConfig is the REST config of ClientConfig(path, kubeContext).
func RESTConfig(path, kubeContext string) (*rest.Config, error) {
	cfg, err := ClientConfig(path, kubeContext).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}

// WhoAmI is the user name the API server knows the client by, from a
// SelfSubjectReview ("" if it names none).
func WhoAmI(ctx context.Context, kube kubernetes.Interface) (string, error) {
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// MapperScope answers provenance's scope questions from API discovery.
type MapperScope struct{ Mapper meta.RESTMapper }

// Namespaced reports whether gk is namespaced, and whether the API server
// serves it at all.
func (m MapperScope) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	mapping, err := m.Mapper.RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return mapping.Scope.Name() == meta.RESTScopeNameNamespace, true, nil
}
