package fluxsync

import (
	"fmt"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// RootOf is the root a Kustomization is enforced as: "Kustomization
// <ns>/<name>", its source "GitRepository <ns>/<name>" (the namespace
// defaults to the Kustomization's, as in Flux) and the repository URL with
// credentials removed, "" until the GitRepository is known.
func RootOf(ks *kustomizev1.Kustomization, repoURL string) provenance.Root {
	src := sourceOf(ks)
	return provenance.Root{
		Name:   fmt.Sprintf("Kustomization %s/%s", ks.Namespace, ks.Name),
		Source: fmt.Sprintf("%s %s", ks.Spec.SourceRef.Kind, src),
		URL:    gitsource.RedactURL(repoURL),
	}
}

// sourceOf names the source object of ks.
func sourceOf(ks *kustomizev1.Kustomization) types.NamespacedName {
	ns := ks.Spec.SourceRef.Namespace
	if ns == "" {
		ns = ks.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: ks.Spec.SourceRef.Name}
}

// skipReason says why a Kustomization declares nothing in this cluster, or
// "" when it does. One with spec.kubeConfig applies to another cluster.
func skipReason(ks *kustomizev1.Kustomization) string {
	if ks.Spec.KubeConfig != nil {
		return "applies to another cluster (spec.kubeConfig)"
	}
	return ""
}
