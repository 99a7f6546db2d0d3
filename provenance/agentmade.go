package provenance

import (
	"strings"
)

// The marks a GitOps agent leaves on the GitOps objects it makes: a
// GitOps object Git does not declare exists because an agent made it (a
// person or controller may not create one), and when it carries one of
// these marks, deleting it has an agent prune or delete what it applied,
// the objects Git declares among them (ReasonAgentMadeDelete).

// ownerLabels are the label prefixes by which agents name, in PREFIX/name
// and PREFIX/namespace, the object that applied what carries them: a
// Flux Kustomization (kustomize-controller), a HelmRelease
// (helm-controller), a ResourceSet and a FluxInstance (flux-operator).
var ownerLabels = []struct{ prefix, kind string }{
	{"kustomize.toolkit.fluxcd.io", "Kustomization"},
	{"helm.toolkit.fluxcd.io", "HelmRelease"},
	{"resourceset.fluxcd.controlplane.io", "ResourceSet"},
	{"fluxcd.controlplane.io", "FluxInstance"},
}

// argoTrackingID is the annotation by which Argo CD's application
// controller marks what an Application applies:
// "<app>:<group>/<kind>:<namespace>/<name>".
const argoTrackingID = "argocd.argoproj.io/tracking-id"

// agentManagers are the field managers of the GitOps agents' writes of an
// object itself (not of its status): Flux's kustomize-controller and
// helm-controller (server-side apply, and their finalizer on every object
// they reconcile), flux-operator, and Argo CD's controllers. A manager
// name is the writer's own choice, so it only ever adds a refusal.
var agentManagers = map[string]bool{
	"kustomize-controller":             true,
	"helm-controller":                  true,
	"flux-operator":                    true,
	"argocd-controller":                true,
	"argocd-application-controller":    true,
	"argocd-applicationset-controller": true,
}

// MadeBy reports whether obj, an object of group and kind, is a GitOps
// object (k) that a GitOps agent made or reconciles, and names what made
// it for people: an ownerReference to a GitOps object (an ApplicationSet's
// Applications), an agent's owner labels or Argo CD's tracking annotation,
// or an entry of an agent's field manager in metadata.managedFields (the
// caller restores them; DecodeObject skips them). Without obj (a delete
// whose request carries no old object) it fails closed: made, by an
// unknown maker.
func (k GitOpsKinds) MadeBy(group, kind string, obj map[string]any) (string, bool) {
	if !k.Has(group, kind) {
		return "", false
	}
	if obj == nil {
		return "an unknown maker (the request carries no object)", true
	}
	meta, _ := obj["metadata"].(map[string]any)
	if by := k.gitOpsOwner(meta); by != "" {
		return by, true
	}
	labels, _ := meta["labels"].(map[string]any)
	for _, l := range ownerLabels {
		if name, _ := labels[l.prefix+"/name"].(string); name != "" {
			if ns, _ := labels[l.prefix+"/namespace"].(string); ns != "" {
				name = ns + "/" + name
			}
			return l.kind + " " + name + " (label " + l.prefix + "/name)", true
		}
	}
	ann, _ := meta["annotations"].(map[string]any)
	if id, _ := ann[argoTrackingID].(string); id != "" {
		app, _, _ := strings.Cut(id, ":")
		return "Argo CD Application " + app + " (annotation " + argoTrackingID + ")", true
	}
	if m := agentManager(meta); m != "" {
		return "the GitOps agent " + m + " (metadata.managedFields)", true
	}
	return "", false
}

// gitOpsOwner names the first ownerReference of meta to a GitOps object,
// or "".
func (k GitOpsKinds) gitOpsOwner(meta map[string]any) string {
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		apiVersion, _ := ref["apiVersion"].(string)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		group, _, hasVersion := strings.Cut(apiVersion, "/")
		if !hasVersion {
			group = ""
		}
		if k.Has(group, kind) {
			if ns, _ := meta["namespace"].(string); ns != "" {
				name = ns + "/" + name // an owner is in its object's namespace
			}
			return kind + " " + name + " (ownerReference)"
		}
	}
	return ""
}

// agentManager is the first agent's field manager among meta's
// managedFields entries of the object itself, or "".
func agentManager(meta map[string]any) string {
	entries, _ := meta["managedFields"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		name, _ := m["manager"].(string)
		if sub, _ := m["subresource"].(string); sub == "" && agentManagers[name] {
			return name
		}
	}
	return ""
}
