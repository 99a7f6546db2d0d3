package webhook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// The first stage of a decision: who asks, and whether that settles it.
// Identity comes before any Git lookup and costs none: a skipped resource,
// an exempt caller and an agent are allowed here, without decoding the
// objects.

// caller is who sent a request, as Classify placed them.
type caller struct {
	user  string
	class Class
	// match is the pattern or group that made the class; "" for a person.
	match string
}

// classify places the caller of req in its identity class.
func (h *Handler) classify(req *admission.Request) caller {
	class, match := h.Identities.Classify(req.UserInfo)
	return caller{user: req.UserInfo.Username, class: class, match: match}
}

// unjudged is the reason a request is allowed without a look at Git, or ""
// when it goes on to judge: a skipped resource first, then an exempt
// caller, then an agent, except for a TokenRequest. An agent minting its
// own token for someone else is exactly the escalation judge refuses.
func (h *Handler) unjudged(req *admission.Request, class Class) provenance.Reason {
	switch {
	case h.Skip.Has(req.Resource.Group, req.Resource.Resource):
		return reasonSkippedResource
	case class == Exempt:
		return reasonExempt
	case class == Agent && !isTokenRequest(req):
		return reasonAgent
	}
	return ""
}

// Class says how a request's identity is treated. Its values are the
// class label of gitgate_admission_decisions_total and the class of an
// audit record: four values, never a user name.
type Class string

// Classes of identity, in the order Classify decides them.
const (
	// Exempt is the cluster itself (the API server, the controller
	// manager, the scheduler, kube-system's service accounts, kubelets,
	// node bootstrap): never blocked, never judged.
	Exempt Class = "exempt"
	// Agent is a GitOps agent: it applies Git, so it is Git. It may do
	// anything and is not judged.
	Agent Class = "agent"
	// Controller is an operator or any other service account: it may
	// create, change and delete what Git does not declare, and change the
	// fields of a declared object that Git does not declare, but never a
	// declared value or a declared object's existence.
	Controller Class = "controller"
	// Person is everyone else, judged field by field as --fields says.
	Person Class = "person"
)

// Defaults for the identity classes; gitgate serve's flags start from
// them, and manifests/base/webhook.yaml's matchConditions skip the same
// exempt identities and agents (manifests/manifests_test.go proves it).
var (
	// DefaultExemptUsers are the cluster's own controllers. The API server
	// writes as system:apiserver (e.g. the default/kubernetes Service).
	DefaultExemptUsers = []string{
		"system:serviceaccount:kube-system:*",
		"system:kube-controller-manager",
		"system:kube-scheduler",
		"system:apiserver",
	}
	// DefaultExemptGroups: kubelets, kube-system's service accounts, and
	// bootstrap tokens creating the CSRs of joining nodes.
	DefaultExemptGroups = []string{
		"system:nodes",
		"system:serviceaccounts:kube-system",
		"system:bootstrappers",
	}
	// DefaultAgents are Flux's controllers and Argo CD's application
	// controller.
	DefaultAgents = []string{
		"system:serviceaccount:flux-system:*",
		"system:serviceaccount:argocd:argocd-application-controller",
	}
	// DefaultControllers: every other service account is a controller.
	DefaultControllers = []string{
		"system:serviceaccount:*",
	}
)

// DefaultIdentities are the identity classes with no flag set.
func DefaultIdentities() Identities {
	return Identities{
		ExemptUsers:     slices.Clone(DefaultExemptUsers),
		ExemptGroups:    slices.Clone(DefaultExemptGroups),
		AgentUsers:      slices.Clone(DefaultAgents),
		ControllerUsers: slices.Clone(DefaultControllers),
	}
}

// Identities classifies the caller of a request. A user pattern is a user
// name in which "*" matches any run of characters, anywhere in it
// ("system:serviceaccount:*:gitops-reconciler"); a group is matched
// exactly.
type Identities struct {
	ExemptUsers, ExemptGroups         []string
	AgentUsers, AgentGroups           []string
	ControllerUsers, ControllerGroups []string
}

// Classify returns the class of u and the pattern or group that put it
// there ("" for a person). Exempt comes first, then agent, then
// controller: a more trusted class always wins.
func (ids *Identities) Classify(u authenticationv1.UserInfo) (Class, string) {
	for _, c := range []struct {
		class         Class
		users, groups []string
	}{
		{Exempt, ids.ExemptUsers, ids.ExemptGroups},
		{Agent, ids.AgentUsers, ids.AgentGroups},
		{Controller, ids.ControllerUsers, ids.ControllerGroups},
	} {
		if p, ok := matchUser(c.users, u.Username); ok {
			return c.class, p
		}
		for _, g := range u.Groups {
			if slices.Contains(c.groups, g) {
				return c.class, g
			}
		}
	}
	return Person, ""
}

// Validate reports every empty pattern or group, and every group holding
// a "*", naming the flag each comes from.
func (ids *Identities) Validate() error {
	var errs []error
	for _, f := range []struct {
		flag   string
		values []string
		group  bool
	}{
		{"--exempt-user", ids.ExemptUsers, false}, {"--exempt-group", ids.ExemptGroups, true},
		{"--agent", ids.AgentUsers, false}, {"--agent-group", ids.AgentGroups, true},
		{"--controller", ids.ControllerUsers, false}, {"--controller-group", ids.ControllerGroups, true},
	} {
		for _, v := range f.values {
			switch {
			case strings.TrimSpace(v) == "":
				errs = append(errs, fmt.Errorf("%s must not be empty", f.flag))
			case f.group && strings.Contains(v, "*"):
				errs = append(errs, fmt.Errorf("%s %q: a group is matched exactly, it takes no *", f.flag, v))
			}
		}
	}
	return errors.Join(errs...)
}

// serviceAccountUser is the identity a token for service account ns/name
// carries, as the API server authenticates it.
func serviceAccountUser(ns, name string) authenticationv1.UserInfo {
	return authenticationv1.UserInfo{
		Username: "system:serviceaccount:" + ns + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
}

// serviceAccountClass is the class of whoever holds a token of service
// account ns/name: judge asks it of the service account a TokenRequest
// mints for, and of the one an object would run as.
func (ids *Identities) serviceAccountClass(ns, name string) Class {
	class, _ := ids.Classify(serviceAccountUser(ns, name))
	return class
}

func matchUser(patterns []string, name string) (string, bool) {
	for _, p := range patterns {
		if glob(p, name) {
			return p, true
		}
	}
	return "", false
}

// glob reports whether name matches pattern, in which "*" matches any run
// of characters (none included) and every other character itself. It
// does not allocate: it runs on every admission request.
func glob(pattern, name string) bool {
	p, n := 0, 0
	// Where the last "*" was, and the name position it currently covers up
	// to: on a mismatch, that star takes one more character.
	star, covered := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, covered = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			covered++
			p, n = star+1, covered
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// DefaultSkipResources are cluster infrastructure that Git never declares:
// nodes (kubectl cordon, kubelets), certificate signing requests and their
// approval (node bootstrap), events, leases (leader election, node
// heartbeats) and the token and access reviews, which are not stored at
// all. EndpointSlices and Endpoints are not on the list: a person adding
// one to a declared Service redirects its traffic.
var DefaultSkipResources = []string{
	"/nodes",
	"certificates.k8s.io/certificatesigningrequests",
	"/events",
	"events.k8s.io/events",
	"coordination.k8s.io/leases",
	"coordination.k8s.io/leasecandidates",
	"authentication.k8s.io/*",
	"authorization.k8s.io/*",
}

// Resource names a resource of an API group. Resource "*" stands for every
// resource of the group; the core group is "".
type Resource struct {
	Group, Resource string
}

// String is the GROUP/RESOURCE form --skip-resource takes.
func (r Resource) String() string { return r.Group + "/" + r.Resource }

// ParseResource reads GROUP/RESOURCE: "apps/deployments", "/nodes" for the
// core group, "authorization.k8s.io/*" for a whole group. A resource is
// plural and lower-case, as in RBAC rules and the API's URLs.
func ParseResource(s string) (Resource, error) {
	group, resource, ok := strings.Cut(s, "/")
	switch {
	case !ok || resource == "" || strings.Contains(resource, "/"):
		return Resource{}, fmt.Errorf("%q is not GROUP/RESOURCE (e.g. coordination.k8s.io/leases, or /nodes for the core group)", s)
	case strings.Contains(group, "*") || strings.Contains(resource, "*") && resource != "*":
		return Resource{}, fmt.Errorf("%q: * stands only for a whole resource (GROUP/*)", s)
	case strings.ToLower(resource) != resource:
		return Resource{}, fmt.Errorf("%q: resources are plural and lower-case (certificatesigningrequests, not CertificateSigningRequest)", s)
	}
	return Resource{Group: group, Resource: resource}, nil
}

// Resources is a set of resources gitgate allows without a look: their
// subresources (a CSR's approval) included.
type Resources []Resource

// Has reports whether the set holds the resource. A handful of entries: a
// scan is faster than a map.
func (rs Resources) Has(group, resource string) bool {
	for _, r := range rs {
		if r.Group == group && (r.Resource == resource || r.Resource == "*") {
			return true
		}
	}
	return false
}

// DefaultSkip is DefaultSkipResources parsed.
func DefaultSkip() Resources {
	rs := make(Resources, len(DefaultSkipResources))
	for i, s := range DefaultSkipResources {
		r, err := ParseResource(s)
		if err != nil {
			panic(err) // a typo in the list above; TestDefaultSkip catches it
		}
		rs[i] = r
	}
	return rs
}

// isTokenRequest reports a TokenRequest: CREATE serviceaccounts/token.
func isTokenRequest(req *admission.Request) bool {
	return req.Resource.Group == "" && req.Resource.Resource == "serviceaccounts" && req.SubResource == "token"
}
