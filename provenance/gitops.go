package provenance

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultGitOpsKinds are the API groups and kinds (GROUP for every kind of
// a group, GROUP/KIND for one) of objects that tell a GitOps agent what to
// apply, fetch or push, as gitgate serve's --gitops-kind defaults to:
// Flux's Kustomizations, sources and HelmReleases; Flux Operator's
// FluxInstances and ResourceSets (applied by flux-operator, an agent);
// image automation's (ImageUpdateAutomations push to Git with Flux's key);
// notification's (a Provider sends what Flux reads, a Receiver triggers
// it); source extensions' (an ArtifactGenerator composes the artifacts
// Kustomizations apply); Argo CD's Applications, ApplicationSets and AppProjects, not Argo
// Rollouts' (AnalysisRuns are made by a controller).
var DefaultGitOpsKinds = []string{
	"kustomize.toolkit.fluxcd.io",
	"source.toolkit.fluxcd.io",
	"helm.toolkit.fluxcd.io",
	"image.toolkit.fluxcd.io",
	"notification.toolkit.fluxcd.io",
	"fluxcd.controlplane.io",
	"source.extensions.fluxcd.io",
	"argoproj.io/Application",
	"argoproj.io/ApplicationSet",
	"argoproj.io/AppProject",
}

// GitOpsKinds is a set of API groups and kinds whose objects tell a GitOps
// agent what to apply. Whoever writes such an object has the agent apply
// what it says, as itself: the whole spec of a declared one is held to Git
// in every field mode and for controllers too, and only the agent may
// create one Git does not declare. It maps a group to its kinds; a group
// mapped to nil holds every kind of the group. A nil GitOpsKinds is the
// default set, DefaultGitOpsKinds.
type GitOpsKinds map[string]map[string]bool

// defaultGitOps is DefaultGitOpsKinds parsed, for a nil GitOpsKinds.
var defaultGitOps = mustParseGitOpsKinds(DefaultGitOpsKinds)

// Has reports whether objects of group and kind tell a GitOps agent what
// to apply.
func (k GitOpsKinds) Has(group, kind string) bool {
	if k == nil {
		k = defaultGitOps
	}
	kinds, ok := k[group]
	return ok && (kinds == nil || kinds[kind])
}

// GitOpsKind reports whether group and kind are on DefaultGitOpsKinds.
// Checkers and the webhook ask their own GitOpsKinds, which --gitops-kind
// may have changed.
func GitOpsKind(group, kind string) bool { return defaultGitOps.Has(group, kind) }

// kindName is a kind as the API spells it: CamelCase, a letter first.
var kindName = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// ParseGitOpsKinds reads GROUP (every kind of the group) and GROUP/KIND
// values ("fluxcd.controlplane.io", "argoproj.io/Application") and reports
// every invalid one at once. The core group holds no GitOps kind, so a
// group is never empty.
func ParseGitOpsKinds(values []string) (GitOpsKinds, error) {
	set := GitOpsKinds{}
	var errs []string
	for _, v := range values {
		group, kind, hasKind := strings.Cut(v, "/")
		switch {
		case group == "":
			errs = append(errs, fmt.Sprintf("%q: want GROUP or GROUP/KIND with a named API group (e.g. fluxcd.controlplane.io/ResourceSet)", v))
			continue
		case len(validation.IsDNS1123Subdomain(group)) > 0:
			errs = append(errs, fmt.Sprintf("%q: %q is not an API group (lower-case, dot-separated, e.g. kustomize.toolkit.fluxcd.io)", v, group))
			continue
		case hasKind && !kindName.MatchString(kind):
			errs = append(errs, fmt.Sprintf("%q: %q is not a kind (CamelCase and singular, e.g. ResourceSet; GROUP alone is every kind of the group)", v, kind))
			continue
		}
		switch kinds, seen := set[group]; {
		case !hasKind:
			set[group] = nil
		case seen && kinds == nil:
			// The whole group is in already.
		case seen:
			kinds[kind] = true
		default:
			set[group] = map[string]bool{kind: true}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return set, nil
}

func mustParseGitOpsKinds(values []string) GitOpsKinds {
	k, err := ParseGitOpsKinds(values)
	if err != nil {
		panic(err) // a typo in DefaultGitOpsKinds; TestDefaultGitOpsKinds catches it
	}
	return k
}
