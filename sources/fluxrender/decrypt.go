package fluxrender

import (
	"encoding/json"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resource"
)

// decryptedByAgent reports whether kustomize-controller would decrypt res
// before applying it (its decryptor.DecryptResource): the Kustomization
// has a decryption provider, res does not opt out with
// kustomize.toolkit.fluxcd.io/decrypt: disabled, and res is a Secret (whose
// data values, or generator sources, may hold SOPS documents) or any
// object SOPS encrypted as a whole (a top-level sops field with a mac).
// gitgate holds no keys, so it cannot know the values the agent applies.
func decryptedByAgent(ks *kustomizev1.Kustomization, res *resource.Resource) bool {
	if ks.Spec.Decryption == nil || ks.Spec.Decryption.Provider == "" {
		return false
	}
	if strings.EqualFold(res.GetAnnotations()[kustomizev1.GroupVersion.Group+"/decrypt"], kustomizev1.DisabledValue) {
		return false
	}
	return res.GetKind() == "Secret" || isSOPSEncrypted(res)
}

// isSOPSEncrypted mirrors kustomize-controller's isSOPSEncryptedResource.
func isSOPSEncrypted(res *resource.Resource) bool {
	sops := res.Field("sops")
	return !sops.IsNilOrEmpty() && !sops.Value.Field("mac").IsNilOrEmpty()
}

// reduceToIdentity drops everything of res but apiVersion, kind and the
// metadata that names and labels it, so no encrypted (or, after the
// agent's decryption, secret) value is ever kept. Labels and annotations
// stay: they select substitution and decryption, and Flux adds its own.
func reduceToIdentity(res *resource.Resource) error {
	meta := map[string]any{"name": res.GetName()}
	if ns := res.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	if l := res.GetLabels(); len(l) > 0 {
		meta["labels"] = l
	}
	if a := res.GetAnnotations(); len(a) > 0 {
		meta["annotations"] = a
	}
	data, err := json.Marshal(map[string]any{
		"apiVersion": res.GetApiVersion(),
		"kind":       res.GetKind(),
		"metadata":   meta,
	})
	if err != nil {
		return err
	}
	return res.UnmarshalJSON(data)
}
