package offlinescope

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/gitgate/gitgate/internal/testyaml"
)

func TestLookup(t *testing.T) {
	crd := testyaml.ToMap(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets}
`)
	s := New([]map[string]any{crd})
	tests := []struct {
		gk       schema.GroupKind
		known    bool
		ns       bool
		resource string
	}{
		{schema.GroupKind{Kind: "ConfigMap"}, true, true, "configmaps"},
		{schema.GroupKind{Kind: "Namespace"}, true, false, "namespaces"},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, true, true, "deployments"},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, true, true, "networkpolicies"},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}, true, false, "clusterroles"},
		{schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, true, false, "customresourcedefinitions"},
		{schema.GroupKind{Group: "example.com", Kind: "Widget"}, true, false, "widgets"},
		{schema.GroupKind{Group: "example.com", Kind: "Gadget"}, false, false, ""},
		{schema.GroupKind{Group: "apps", Kind: "ConfigMap"}, false, false, ""},
	}
	for _, tc := range tests {
		k, ok := s.Lookup(tc.gk)
		if ok != tc.known || k.Namespaced != tc.ns || k.Resource != tc.resource {
			t.Errorf("Lookup(%s) = %+v, %v; want namespaced %v, resource %q, known %v", tc.gk, k, ok, tc.ns, tc.resource, tc.known)
		}
	}
}

// Every kind the list calls cluster-scoped is one client-go knows, so a
// typo cannot leave a cluster-scoped kind namespaced unnoticed.
func TestClusterScopedKindsAreBuiltIn(t *testing.T) {
	known := map[schema.GroupKind]bool{}
	for gvk := range clientgoscheme.Scheme.AllKnownTypes() {
		known[gvk.GroupKind()] = true
	}
	for gk := range clusterScoped {
		if !known[gk] && !servedOutsideScheme[gk] {
			t.Errorf("%s is listed as cluster-scoped but client-go's scheme does not know it", gk)
		}
	}
}
