// Package offlinescope answers provenance's scope question without a
// cluster: built-in kinds from client-go's scheme, custom resources from
// the CustomResourceDefinitions a source declares. A kind neither knows is
// unknown, never guessed; the client commands report it.
package offlinescope

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// clusterScoped lists the cluster-scoped kinds among client-go's built-in
// types; the scheme knows types, not scopes. Every other built-in kind is
// namespaced. TestClusterScopedKindsAreBuiltIn keeps the list honest.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:        true,
	{Kind: "Node"}:             true,
	{Kind: "PersistentVolume"}: true,
	{Kind: "ComponentStatus"}:  true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                                 true,
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:                      true,
	{Group: "storagemigration.k8s.io", Kind: "StorageVersionMigration"}:               true,
	{Group: "authentication.k8s.io", Kind: "TokenReview"}:                             true,
	{Group: "authentication.k8s.io", Kind: "SelfSubjectReview"}:                       true,
	{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}:                      true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}:                  true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectRulesReview"}:                   true,
}

// servedOutsideScheme are kinds every API server serves whose types live
// outside client-go (apiextensions, kube-aggregator).
var servedOutsideScheme = map[schema.GroupKind]bool{
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:             true,
}

// Kind is what the scope knows of one kind.
type Kind struct {
	Namespaced bool
	// Resource is the plural resource name, as in the API's URLs.
	Resource string
}

// Scope knows built-in kinds and the custom resources of some CRDs. It
// implements provenance.Scope.
type Scope struct {
	builtin map[schema.GroupKind]bool
	custom  map[schema.GroupKind]Kind
}

// New returns the scope of client-go's built-in kinds and of the CRDs
// among objects (apiextensions.k8s.io/v1 CustomResourceDefinitions).
func New(objects []map[string]any) *Scope {
	s := &Scope{builtin: map[schema.GroupKind]bool{}, custom: map[schema.GroupKind]Kind{}}
	for gvk := range clientgoscheme.Scheme.AllKnownTypes() {
		s.builtin[gvk.GroupKind()] = true
	}
	for gk := range servedOutsideScheme {
		s.builtin[gk] = true
	}
	for _, obj := range objects {
		if gk, k, ok := crdKind(obj); ok {
			s.custom[gk] = k
		}
	}
	return s
}

// Namespaced implements provenance.Scope.
func (s *Scope) Namespaced(gk schema.GroupKind) (namespaced, known bool, err error) {
	k, ok := s.Lookup(gk)
	return k.Namespaced, ok, nil
}

// Lookup tells whether gk is namespaced and names its resource; ok is false
// for a kind neither built in nor defined by a known CRD.
func (s *Scope) Lookup(gk schema.GroupKind) (k Kind, ok bool) {
	if k, ok := s.custom[gk]; ok {
		return k, true
	}
	if !s.builtin[gk] {
		return Kind{}, false
	}
	// The scheme has no resource names: this is kubectl's own guess,
	// right for every built-in kind.
	plural, _ := guessResource(gk)
	return Kind{Namespaced: !clusterScoped[gk], Resource: plural}, true
}

func crdKind(obj map[string]any) (schema.GroupKind, Kind, bool) {
	if obj["kind"] != "CustomResourceDefinition" || obj["apiVersion"] != "apiextensions.k8s.io/v1" {
		return schema.GroupKind{}, Kind{}, false
	}
	spec, _ := obj["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	group, _ := spec["group"].(string)
	kind, _ := names["kind"].(string)
	plural, _ := names["plural"].(string)
	if kind == "" || plural == "" {
		return schema.GroupKind{}, Kind{}, false
	}
	return schema.GroupKind{Group: group, Kind: kind}, Kind{Namespaced: spec["scope"] != "Cluster", Resource: plural}, true
}

func guessResource(gk schema.GroupKind) (string, string) {
	plural, singular := meta.UnsafeGuessKindToResource(gk.WithVersion(""))
	return plural.Resource, singular.Resource
}
