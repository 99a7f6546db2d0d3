package drift

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/gitgate/gitgate/provenance"
)

// Cluster reads live objects with a dynamic client, mapping kinds to
// resources through discovery.
type Cluster struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
}

var _ Live = (*Cluster)(nil)

// Get implements Live. A kind the API server does not serve means the
// object cannot exist: missing.
func (c *Cluster) Get(ctx context.Context, e *provenance.Entry) (map[string]any, error) {
	gvk := schema.FromAPIVersionAndKind(e.APIVersion, e.Key.Kind)
	ri, err := c.resource(gvk, e.Key.Namespace)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, err := ri.Get(ctx, e.Key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return u.Object, nil
}

// List implements Live.
func (c *Cluster) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]map[string]any, error) {
	ri, err := c.resource(gvk, namespace)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	list, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		out[i] = list.Items[i].Object
	}
	return out, nil
}

func (c *Cluster) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && !meta.IsNoMatchError(err) {
		err = fmt.Errorf("map %s: %w", gvk.GroupKind(), err)
	}
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Client.Resource(mapping.Resource).Namespace(namespace), nil
	}
	return c.Client.Resource(mapping.Resource), nil
}
