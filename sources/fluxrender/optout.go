package fluxrender

import (
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
)

// Flux's per-object opt-outs (kustomize-controller v1.9.6, read from the
// labels and the annotations of each rendered object).
const (
	reconcileKey = "kustomize.toolkit.fluxcd.io/reconcile"
	ssaKey       = "kustomize.toolkit.fluxcd.io/ssa"
)

// NeverReverted reports whether Flux leaves obj alone once it exists:
// reconcile disabled, ssa Ignore (never applied) or IfNotPresent (created
// once, never corrected). gitgate declares none of these: a person's
// change to them is what Flux allows too.
func NeverReverted(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	for _, field := range []string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		if v, _ := m[reconcileKey].(string); strings.EqualFold(v, kustomizev1.DisabledValue) {
			return true
		}
		if v, _ := m[ssaKey].(string); strings.EqualFold(v, kustomizev1.IgnoreValue) || strings.EqualFold(v, kustomizev1.IfNotPresentValue) {
			return true
		}
	}
	return false
}

// SubstitutesSecrets reports whether ks takes postBuild variables from a
// Secret: their values may then stand anywhere in its objects.
func SubstitutesSecrets(ks *kustomizev1.Kustomization) bool {
	if ks.Spec.PostBuild == nil {
		return false
	}
	for _, ref := range ks.Spec.PostBuild.SubstituteFrom {
		if ref.Kind == "Secret" {
			return true
		}
	}
	return false
}
