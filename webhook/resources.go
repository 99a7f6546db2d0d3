package webhook

import (
	"fmt"
	"strings"
)

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
