package convert

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/gitgate/gitgate/provenance"
)

func crd(group, kind, strategy string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": kind + "s." + group},
		"spec": map[string]any{"group": group, "names": map[string]any{"kind": kind, "plural": kind + "s"},
			"versions": []any{map[string]any{"name": "v1", "schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}}}}},
	}}
	if strategy != "" {
		_ = unstructured.SetNestedField(u.Object, strategy, "spec", "conversion", "strategy")
	}
	return u
}

func TestConversions(t *testing.T) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{crds: "CustomResourceDefinitionList"},
		crd("kustomize.toolkit.fluxcd.io", "Kustomization", ""),
		crd("cluster.x-k8s.io", "Cluster", "Webhook"),
		crd("example.com", "Widget", "None"))
	c := &Conversions{Client: client, Log: logr.Discard()}
	if got := c.Conversion(schema.GroupKind{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}); got != provenance.ConversionUnknown {
		t.Errorf("before the watch has listed the CRDs: %v, want unknown", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- c.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for c.store.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not list the CRDs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		gk   schema.GroupKind
		want provenance.Conversion
	}{
		{schema.GroupKind{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}, provenance.ConversionNone},
		{schema.GroupKind{Group: "example.com", Kind: "Widget"}, provenance.ConversionNone},
		{schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}, provenance.ConversionWebhook},
		{schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}, provenance.ConversionBuiltin},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, provenance.ConversionBuiltin},
		{schema.GroupKind{Group: "metrics.k8s.io", Kind: "PodMetrics"}, provenance.ConversionUnknown},
		{schema.GroupKind{Group: "example.com", Kind: "Gadget"}, provenance.ConversionUnknown},
	} {
		if got := c.Conversion(tc.gk); got != tc.want {
			t.Errorf("Conversion(%s) = %v, want %v", tc.gk, got, tc.want)
		}
	}
	// A CRD that changes its strategy is seen anew.
	widget := crd("example.com", "Widget", "Webhook")
	if _, err := client.Resource(crds).Update(ctx, widget, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for c.Conversion(schema.GroupKind{Group: "example.com", Kind: "Widget"}) != provenance.ConversionWebhook {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not see the CRD's new strategy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStripKeepsWhatConversionReads: the watch keeps of a CRD its name,
// group, kind and strategy, not its schemas.
func TestStripKeepsWhatConversionReads(t *testing.T) {
	out, err := strip(crd("example.com", "Widget", "Webhook"))
	if err != nil {
		t.Fatal(err)
	}
	u := out.(*unstructured.Unstructured)
	if _, found, _ := unstructured.NestedSlice(u.Object, "spec", "versions"); found {
		t.Errorf("strip kept the versions: %v", u.Object)
	}
	if got := strategyOf(u); got != provenance.ConversionWebhook || u.GetName() != "Widgets.example.com" {
		t.Errorf("stripped CRD %v: strategy %v", u.Object, got)
	}
	if keys, _ := indexKind(u); len(keys) != 1 || keys[0] != "example.com/Widget" {
		t.Errorf("indexKind = %v", keys)
	}
}

// TestStoredReadsInOneVersion: Stored maps the kind in the version asked
// for and decodes the answer as admission objects are.
func TestStoredReadsInOneVersion(t *testing.T) {
	hpa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "resourceVersion": "7",
			"managedFields": []any{map[string]any{"manager": "x"}}},
		"spec":   map[string]any{"maxReplicas": int64(10)},
		"status": map[string]any{"currentReplicas": int64(2)},
	}}
	gvr := schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "HorizontalPodAutoscalerList"}, hpa)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, meta.RESTScopeNamespace)
	s := &Stored{Client: client, Mapper: mapper}
	obj, err := s.Stored(context.Background(), schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, "shop", "web")
	if err != nil {
		t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	if _, ok := obj["status"]; ok || meta["managedFields"] != nil || meta["resourceVersion"] != "7" || obj["spec"].(map[string]any)["maxReplicas"] != float64(10) {
		t.Errorf("Stored = %v", obj)
	}
	if _, err := s.Stored(context.Background(), schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, "shop", "gone"); err == nil {
		t.Error("Stored of a missing object: no error")
	}
}
