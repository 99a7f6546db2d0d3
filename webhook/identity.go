package webhook

import (
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// Defaults for the identities gitgate lets through without a Git check.
var (
	// DefaultAgents are the GitOps agents that apply what is in Git.
	DefaultAgents = []string{
		"system:serviceaccount:flux-system:kustomize-controller",
		"system:serviceaccount:flux-system:helm-controller",
		"system:serviceaccount:argocd:argocd-application-controller",
	}
	// DefaultExemptUsers are the cluster's own controllers. The API server
	// writes as system:apiserver (e.g. the default/kubernetes Service).
	DefaultExemptUsers = []string{
		"system:serviceaccount:kube-system:*",
		"system:kube-controller-manager",
		"system:kube-scheduler",
		"system:apiserver",
	}
	// DefaultExemptGroups: kubelets, and kube-system's service accounts.
	DefaultExemptGroups = []string{
		"system:nodes",
		"system:serviceaccounts:kube-system",
	}
)

// Identities decides who bypasses the Git check. A pattern matches a name
// exactly, or by prefix when it ends in "*".
type Identities struct {
	Agents       []string
	ExemptUsers  []string
	ExemptGroups []string
}

// Class says how a request's identity is treated.
type Class int

// Classes of identity.
const (
	// Person is everyone the Git check applies to.
	Person Class = iota
	// Agent is a GitOps agent: it applies Git, so it is Git.
	Agent
	// Exempt is a system controller that must never be blocked.
	Exempt
)

// Classify returns the class of u and the pattern that matched.
func (ids *Identities) Classify(u authenticationv1.UserInfo) (Class, string) {
	if p, ok := matchAny(ids.Agents, u.Username); ok {
		return Agent, p
	}
	if p, ok := matchAny(ids.ExemptUsers, u.Username); ok {
		return Exempt, p
	}
	for _, g := range u.Groups {
		if p, ok := matchAny(ids.ExemptGroups, g); ok {
			return Exempt, p
		}
	}
	return Person, ""
}

func matchAny(patterns []string, name string) (string, bool) {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return p, true
			}
		} else if p == name {
			return p, true
		}
	}
	return "", false
}
