package fluxrender

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// errNoReader: the Kustomization substitutes from ConfigMaps or Secrets
// and Render was given no reader for them.
var errNoReader = errors.New("no reader for postBuild.substituteFrom")

// varsClient hands Flux's SubstituteVariables, which takes a whole
// client.Client but only ever calls Get, the read access Render was given.
// Flux loads the variables again for every object; varsClient reads each
// ConfigMap or Secret once per render, so that all objects of one render
// see the same values. Any other method is never called (it would panic
// on the nil embedded client).
type varsClient struct {
	client.Client
	r    client.Reader
	seen map[string]got
}

type got struct {
	obj client.Object
	err error
}

func newVarsClient(r client.Reader) *varsClient {
	return &varsClient{r: r, seen: map[string]got{}}
}

// Get reads obj through the reader, or from what this render read before.
func (c *varsClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if c.r == nil {
		return errNoReader
	}
	id := fmt.Sprintf("%T/%s", obj, key)
	g, ok := c.seen[id]
	if !ok {
		g.err = c.r.Get(ctx, key, obj, opts...)
		if g.err == nil {
			g.obj = obj.DeepCopyObject().(client.Object)
		}
		c.seen[id] = g
	}
	if g.err != nil {
		return g.err
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(g.obj.DeepCopyObject()).Elem())
	return nil
}
