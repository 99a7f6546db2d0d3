package webhook

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/validation"
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
	// match is the pattern or group that made the class; "" for a person
	// but a people proxy.
	match string
	// proxy: a people proxy (--people-proxy), judged as a person.
	proxy bool
}

// classify places the caller of req in its identity class.
func (h *Handler) classify(req *admission.Request) caller {
	class, match := h.Identities.Classify(req.UserInfo)
	return caller{user: req.UserInfo.Username, class: class, match: match, proxy: class == Person && match != ""}
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
	// DefaultAgentFor: Argo CD's ApplicationSet controller creates,
	// changes and deletes the Applications its ApplicationSets generate;
	// for nothing else is it an agent.
	DefaultAgentFor = []string{
		"system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application",
	}
	// DefaultAnnotators: Argo CD's notifications controller records what
	// it sent in an annotation of the Application (or AppProject), and
	// argocd-server's Refresh button asks for a refresh with one.
	DefaultAnnotators = []string{
		"system:serviceaccount:argocd:argocd-notifications-controller=argoproj.io/Application",
		"system:serviceaccount:argocd:argocd-notifications-controller=argoproj.io/AppProject",
		"system:serviceaccount:argocd:argocd-server=argoproj.io/Application",
	}
	// DefaultPeopleProxies: argocd-server writes what people ask of it in
	// the UI, the argocd CLI and resource actions.
	DefaultPeopleProxies = []string{
		"system:serviceaccount:argocd:argocd-server",
	}
)

// DefaultIdentities are the identity classes with no flag set.
func DefaultIdentities() Identities {
	return Identities{
		ExemptUsers:     slices.Clone(DefaultExemptUsers),
		ExemptGroups:    slices.Clone(DefaultExemptGroups),
		AgentUsers:      slices.Clone(DefaultAgents),
		ControllerUsers: slices.Clone(DefaultControllers),
		AgentFor:        mustParseScopes(DefaultAgentFor),
		Annotators:      mustParseScopes(DefaultAnnotators),
		PeopleProxies:   slices.Clone(DefaultPeopleProxies),
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
	// AgentFor (--agent-for) are scoped agents: each is the agent for
	// objects of its kind that a GitOps object controls, and is judged by
	// its class for everything else (scoped.go). Whoever holds its token
	// holds an agent's (serviceAccountClass).
	AgentFor []Scope
	// Annotators (--annotator) may change the annotations of objects of
	// their kind, declared or not, and nothing else of them.
	Annotators []Scope
	// PeopleProxies (--people-proxy) are user patterns of services that
	// write what people ask of them: judged as a person, whatever
	// --controller says, and allowed a plain sync of an Argo CD
	// Application. Their tokens stay what --controller makes them.
	PeopleProxies []string
}

// Classify returns the class of u and the pattern or group that put it
// there ("" for a person, but a people proxy's pattern). Exempt comes
// first, then agent, then a people proxy, then controller: a more trusted
// class always wins, and a proxy is never judged more leniently than a
// person.
func (ids *Identities) Classify(u authenticationv1.UserInfo) (Class, string) {
	if p, ok := matchClass(ids.ExemptUsers, ids.ExemptGroups, u); ok {
		return Exempt, p
	}
	if p, ok := matchClass(ids.AgentUsers, ids.AgentGroups, u); ok {
		return Agent, p
	}
	if p, ok := matchUser(ids.PeopleProxies, u.Username); ok {
		return Person, p
	}
	if p, ok := matchClass(ids.ControllerUsers, ids.ControllerGroups, u); ok {
		return Controller, p
	}
	return Person, ""
}

// matchClass is the user pattern or group of a class that u matches.
func matchClass(users, groups []string, u authenticationv1.UserInfo) (string, bool) {
	if p, ok := matchUser(users, u.Username); ok {
		return p, true
	}
	for _, g := range u.Groups {
		if slices.Contains(groups, g) {
			return g, true
		}
	}
	return "", false
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
		{"--people-proxy", ids.PeopleProxies, false},
		{"--agent-for", subjects(ids.AgentFor), false}, {"--annotator", subjects(ids.Annotators), false},
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

// Scope is what --agent-for or --annotator gives the identities a user
// pattern matches over the objects of one kind: SUBJECT=GROUP/KIND.
type Scope struct {
	// Subject is a user pattern, as --agent takes it.
	Subject string
	// Group and Kind name the kind ("" is the core group).
	Group, Kind string
}

// String is the SUBJECT=GROUP/KIND form the flags take.
func (s Scope) String() string { return s.Subject + "=" + s.Group + "/" + s.Kind }

// scopeKind is a kind as the API spells it: CamelCase, a letter first.
var scopeKind = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// ParseScope reads SUBJECT=GROUP/KIND, e.g.
// system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application.
// The subject is split off at the last "=": a kind never holds one.
func ParseScope(v string) (Scope, error) {
	i := strings.LastIndex(v, "=")
	if i < 0 {
		return Scope{}, fmt.Errorf("%q is not SUBJECT=GROUP/KIND (e.g. system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application)", v)
	}
	subject, gk := v[:i], v[i+1:]
	group, kind, ok := strings.Cut(gk, "/")
	switch {
	case strings.TrimSpace(subject) == "":
		return Scope{}, fmt.Errorf("%q: the subject (a user pattern) must not be empty", v)
	case !ok || !scopeKind.MatchString(kind):
		return Scope{}, fmt.Errorf("%q: %q is not GROUP/KIND (a kind is CamelCase and singular, e.g. argoproj.io/Application; /KIND for the core group)", v, gk)
	case group != "" && len(validation.IsDNS1123Subdomain(group)) > 0:
		return Scope{}, fmt.Errorf("%q: %q is not an API group", v, group)
	}
	return Scope{Subject: subject, Group: group, Kind: kind}, nil
}

// ParseScopes parses every value and reports every invalid one at once.
func ParseScopes(values []string) ([]Scope, error) {
	var out []Scope
	var errs []error
	for _, v := range values {
		s, err := ParseScope(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func mustParseScopes(values []string) []Scope {
	s, err := ParseScopes(values)
	if err != nil {
		panic(err) // a typo in the defaults above; TestDefaultScopes catches it
	}
	return s
}

// subjects are the user patterns of scopes.
func subjects(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s.Subject
	}
	return out
}

// scopeFor is the first of scopes whose subject matches user and whose
// kind is group/kind.
func scopeFor(scopes []Scope, user, group, kind string) (Scope, bool) {
	for _, s := range scopes {
		if s.Group == group && s.Kind == kind && glob(s.Subject, user) {
			return s, true
		}
	}
	return Scope{}, false
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
// mints for, and of the one an object would run as. A scoped agent's
// token (--agent-for) is an agent's: it creates GitOps objects unjudged.
// A people proxy's is what --controller makes it: its holder is not the
// person the proxy writes for.
func (ids *Identities) serviceAccountClass(ns, name string) Class {
	u := serviceAccountUser(ns, name)
	if _, ok := matchClass(ids.ExemptUsers, ids.ExemptGroups, u); ok {
		return Exempt
	}
	if _, ok := matchClass(ids.AgentUsers, ids.AgentGroups, u); ok {
		return Agent
	}
	for _, s := range ids.AgentFor {
		if glob(s.Subject, u.Username) {
			return Agent
		}
	}
	if _, ok := matchClass(ids.ControllerUsers, ids.ControllerGroups, u); ok {
		return Controller
	}
	return Person
}

// rank orders the classes by trust: whoever holds a token of a higher
// class escapes the rules of a lower one.
func rank(c Class) int {
	switch c {
	case Exempt:
		return 3
	case Agent:
		return 2
	case Controller:
		return 1
	}
	return 0
}

// mayHold reports whether some service account of namespace ns may be of
// class least or above, as serviceAccountClass judges its token: whether a
// Secret there may hold such a token. It errs towards yes (a pattern that
// could match some name in ns), never towards no: a yes costs a lookup, a
// wrong no would hand out a token.
func (ids *Identities) mayHold(ns string, least Class) bool {
	prefix := "system:serviceaccount:" + ns + ":"
	users := [][]string{ids.ExemptUsers, ids.AgentUsers, subjects(ids.AgentFor)}
	groups := [][]string{ids.ExemptGroups, ids.AgentGroups}
	if rank(least) <= rank(Controller) {
		users, groups = append(users, ids.ControllerUsers), append(groups, ids.ControllerGroups)
	}
	for _, list := range users {
		for _, p := range list {
			if globPrefix(p, prefix) {
				return true
			}
		}
	}
	for _, list := range groups {
		for _, g := range list {
			if g == "system:serviceaccounts" || g == "system:authenticated" || g == "system:serviceaccounts:"+ns {
				return true
			}
		}
	}
	return false
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

// globPrefix reports whether pattern matches some name that starts with
// prefix: the states of the pattern reachable once prefix is read, where
// "*" stays or moves on; any state left can end the name (a literal
// rest spells itself, a "*" takes nothing).
func globPrefix(pattern, prefix string) bool {
	states := make([]bool, len(pattern)+1)
	closure := func(s []bool) {
		for i := 0; i < len(pattern); i++ {
			if s[i] && pattern[i] == '*' {
				s[i+1] = true
			}
		}
	}
	states[0] = true
	closure(states)
	for j := 0; j < len(prefix); j++ {
		next := make([]bool, len(pattern)+1)
		alive := false
		for i := 0; i < len(pattern); i++ {
			switch {
			case !states[i]:
			case pattern[i] == '*':
				next[i], alive = true, true
			case pattern[i] == prefix[j]:
				next[i+1], alive = true, true
			}
		}
		if !alive {
			return false
		}
		closure(next)
		states = next
	}
	return true
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
