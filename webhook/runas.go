package webhook

import (
	"errors"
	"fmt"

	"github.com/gitgate/gitgate/provenance"
)

// podSpecAt gives, per workload kind, where its Pod spec lives.
var podSpecAt = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// runsAs names the service account an object would hand its token to: the
// one a workload's Pods run as, or the one a service-account-token Secret
// is for; "" for anything else.
func runsAs(preq *provenance.Request) string {
	obj := preq.Object
	if preq.Group == "" && preq.Kind == "Secret" {
		if t, _ := obj["type"].(string); t != "kubernetes.io/service-account-token" {
			return ""
		}
		meta, _ := obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		name, _ := ann["kubernetes.io/service-account.name"].(string)
		return name
	}
	path, ok := podSpecAt[preq.Kind]
	if !ok || (preq.Group != "" && preq.Group != "apps" && preq.Group != "batch") {
		return ""
	}
	var node any = obj
	for _, f := range path {
		m, _ := node.(map[string]any)
		node = m[f]
	}
	spec, _ := node.(map[string]any)
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		if name, _ := spec[f].(string); name != "" {
			return name
		}
	}
	return "default"
}

// agentIdentityUse reports, for an object Git does not declare that a
// controller creates or changes, an error when it would run as (or hold the
// token of) a service account that is an agent or exempt: a controller
// may create what Git does not declare, but not a way to become the agent.
func (h *Handler) agentIdentityUse(preq *provenance.Request) error {
	if preq.Operation == provenance.Delete || preq.Subresource != "" && preq.Subresource != "ephemeralcontainers" {
		// A subresource carries no Pod template, but ephemeral containers
		// come with their whole Pod, which says whose token they can mount.
		return nil
	}
	if provenance.GitOpsKind(preq.Group, preq.Kind) {
		return fmt.Errorf("%w: the GitOps agent would apply what this %s names, as itself, past every Git check", errGitOpsObject, preq.Kind)
	}
	sa := runsAs(preq)
	if sa == "" {
		return nil
	}
	if class, _ := h.Identities.Classify(serviceAccountUser(preq.Namespace, sa)); class == Agent || class == Exempt {
		return fmt.Errorf("it would run as, or hold the token of, service account %s/%s, which is %s", preq.Namespace, sa, class)
	}
	return nil
}

// errGitOpsObject: an object that tells the GitOps agent what to apply
// (a Flux Kustomization or source, an Argo CD Application) that Git does
// not declare. Only the agent itself, and Git, may make one.
var errGitOpsObject = errors.New("Git does not declare this GitOps object")
