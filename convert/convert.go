// Package convert tells how the API server converts an object between the
// served versions of its kind, and reads an object in the version Git
// declares it in: what gitgate needs to judge a request made in another
// version than Git's (`flux reconcile` annotates a Kustomization as v1
// that Git declares as v1beta2). It answers from memory while a request
// waits (Conversions, a watch of CustomResourceDefinitions), and reads
// one object by name when told to (Stored). It never writes.
package convert

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"

	"github.com/gitgate/gitgate/provenance"
)

// crds is the resource of CustomResourceDefinitions.
var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// byKind indexes the watched CRDs by "group/Kind".
const byKind = "kind"

// Conversions answers provenance.Conversions: a built-in kind (one of
// client-go's scheme) is converted by the API server itself; a custom
// resource as its CustomResourceDefinition's spec.conversion.strategy
// says, read from a watch of CRDs that keeps only that, so a change of a
// CRD is seen within moments and a cluster of large CRDs costs little
// memory. Until the watch has listed every CRD, and for a kind no CRD
// defines (an aggregated API), it answers ConversionUnknown: a request in
// another version than Git's is then refused.
type Conversions struct {
	Client dynamic.Interface
	Log    logr.Logger

	builtin map[schema.GroupKind]bool
	store   atomic.Pointer[cache.Indexer]
	once    sync.Once
}

var _ provenance.Conversions = (*Conversions)(nil)

// Conversion answers from memory.
func (c *Conversions) Conversion(gk schema.GroupKind) provenance.Conversion {
	c.once.Do(c.learnBuiltin)
	if c.builtin[gk] {
		return provenance.ConversionBuiltin
	}
	store := c.store.Load()
	if store == nil {
		return provenance.ConversionUnknown
	}
	objs, err := (*store).ByIndex(byKind, gk.Group+"/"+gk.Kind)
	if err != nil || len(objs) != 1 {
		return provenance.ConversionUnknown
	}
	u, _ := objs[0].(*unstructured.Unstructured)
	return strategyOf(u)
}

// strategyOf reads a stripped CRD's conversion strategy. The API server
// defaults an absent strategy to None.
func strategyOf(u *unstructured.Unstructured) provenance.Conversion {
	if u == nil {
		return provenance.ConversionUnknown
	}
	s, _, _ := unstructured.NestedString(u.Object, "spec", "conversion", "strategy")
	switch s {
	case "", "None":
		return provenance.ConversionNone
	case "Webhook":
		return provenance.ConversionWebhook
	}
	return provenance.ConversionUnknown
}

func (c *Conversions) learnBuiltin() {
	c.builtin = map[schema.GroupKind]bool{}
	for gvk := range clientgoscheme.Scheme.AllKnownTypes() {
		if gvk.Version != runtime.APIVersionInternal {
			c.builtin[gvk.GroupKind()] = true
		}
	}
}

// Start watches CustomResourceDefinitions until ctx ends.
func (c *Conversions) Start(ctx context.Context) error {
	inf := dynamicinformer.NewFilteredDynamicInformer(c.Client, crds, "", 0, cache.Indexers{byKind: indexKind}, nil).Informer()
	if err := inf.SetTransform(strip); err != nil {
		return fmt.Errorf("watch CustomResourceDefinitions: %w", err)
	}
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil // stopped before the first list: nothing to answer
	}
	store := inf.GetIndexer()
	c.store.Store(&store)
	c.Log.Info("watching CustomResourceDefinitions for their version conversion", "crds", len(store.ListKeys()))
	<-ctx.Done()
	return nil
}

// strip keeps of a CRD what Conversion reads: its name, group, kind and
// conversion strategy (the schemas are most of a CRD's bytes).
func strip(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone: the informer knows it by key
	}
	out := &unstructured.Unstructured{Object: map[string]any{}}
	out.SetAPIVersion(u.GetAPIVersion())
	out.SetKind(u.GetKind())
	out.SetName(u.GetName())
	out.SetResourceVersion(u.GetResourceVersion())
	for _, f := range [][]string{{"spec", "group"}, {"spec", "names", "kind"}, {"spec", "conversion", "strategy"}} {
		if v, found, _ := unstructured.NestedString(u.Object, f...); found {
			_ = unstructured.SetNestedField(out.Object, v, f...)
		}
	}
	return out, nil
}

func indexKind(obj any) ([]string, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
	return []string{group + "/" + kind}, nil
}

// Stored reads one object by name in one version of its kind, as the API
// server converts it from storage. Its answers are never cached: it is
// asked only for an update in another version than Git's, and must see the
// object as the update changes it.
type Stored struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
}

// Stored returns the object decoded as admission objects are (status and
// managedFields skipped). Errors are the caller's to fail closed on.
func (s *Stored) Stored(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (map[string]any, error) {
	mapping, err := s.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = s.Client.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = s.Client.Resource(mapping.Resource).Namespace(namespace)
	}
	u, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read it as %s: %w", gvk.GroupVersion(), err)
	}
	raw, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return provenance.DecodeObject(raw)
}
