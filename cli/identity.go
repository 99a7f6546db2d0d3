package cli

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/webhook"
)

// identityOptions are the flags of `gitgate serve` that say whom gitgate
// judges and how (the identity classes), and which resources it leaves
// alone. manifests/base/webhook.yaml's matchConditions repeat the
// defaults; manifests/manifests_test.go checks that they agree.
type identityOptions struct {
	exemptUsers, exemptGroups     []string
	agents, agentGroups           []string
	controllers, controllerGroups []string
	// agentFor and annotators are SUBJECT=GROUP/KIND values; peopleProxies
	// user patterns.
	agentFor, annotators, peopleProxies []string
	skipResources                       []string
	// tokenAudiences are audiences the API server does not accept.
	tokenAudiences []string
	// gitopsKinds are the GROUP and GROUP/KIND values of --gitops-kind.
	gitopsKinds []string

	// identities and skip are the flags parsed by Validate.
	identities webhook.Identities
	skip       webhook.Resources
	gitops     provenance.GitOpsKinds
}

func (o *identityOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.exemptUsers, "exempt-user", nil, "User name that is never checked, in addition to the built-in system controllers; repeatable. A * matches any run of characters.")
	fs.StringArrayVar(&o.exemptGroups, "exempt-group", nil, "Group whose members are never checked, in addition to system:nodes, system:serviceaccounts:kube-system and system:bootstrappers; repeatable.")
	fs.StringArrayVar(&o.agents, "agent", webhook.DefaultAgents, "User name of a GitOps agent, which may do anything; repeatable; setting it replaces the defaults. A * matches any run of characters, e.g. system:serviceaccount:*:gitops-reconciler for Flux tenants' impersonated reconcilers (not an Argo CD AppProject's impersonated account: gitgate makes that its Application's sync agent itself).")
	fs.StringArrayVar(&o.agentGroups, "agent-group", nil, "Group whose members are GitOps agents; repeatable.")
	fs.StringArrayVar(&o.controllers, "controller", webhook.DefaultControllers, "User name of a controller (an operator): it may create, change and delete what Git does not declare, and change fields Git does not declare, but no declared value. Repeatable; setting it replaces the default. A * matches any run of characters.")
	fs.StringArrayVar(&o.controllerGroups, "controller-group", nil, "Group whose members are controllers; repeatable.")
	fs.StringArrayVar(&o.agentFor, "agent-for", webhook.DefaultAgentFor, "SUBJECT=GROUP/KIND: the identities the user pattern SUBJECT matches are the GitOps agent for objects of GROUP/KIND, a --gitops-kind, that a GitOps object controls (an Application its ApplicationSet generated) and Git does not declare, and are judged by their class for everything else; their service account's token is an agent's. Repeatable; setting it replaces the defaults.")
	fs.StringArrayVar(&o.annotators, "annotator", webhook.DefaultAnnotators, "SUBJECT=GROUP/KIND: the identities SUBJECT matches may change the annotations of objects of GROUP/KIND that Git does not declare (declared ones keep their values), and nothing else of them. Repeatable; setting it replaces the defaults.")
	fs.StringArrayVar(&o.peopleProxies, "people-proxy", webhook.DefaultPeopleProxies, "User name of a service that writes what people ask of it (Argo CD's argocd-server): judged as a person whatever --controller says, and allowed a plain sync of an Argo CD Application; its token stays what --controller makes it. Repeatable; setting it replaces the default. A * matches any run of characters.")
	fs.StringArrayVar(&o.tokenAudiences, "token-audience", nil, "Audience the API server does not accept, e.g. sts.amazonaws.com for a cloud's workload identity; repeatable. A service account token requested only for such audiences is not judged (it cannot act in the cluster). Never add the API server's own audience.")
	fs.StringArrayVar(&o.gitopsKinds, "gitops-kind", provenance.DefaultGitOpsKinds, "GROUP/KIND, or GROUP for every kind of a group, of objects that tell a GitOps agent what to apply: only the agent (or Git) may create one, and the whole spec of a declared one is held to Git. Repeatable; setting it replaces the defaults, so repeat the ones you keep.")
	fs.StringArrayVar(&o.skipResources, "skip-resource", webhook.DefaultSkipResources, "GROUP/RESOURCE gitgate allows without a look, subresources included; repeatable; setting it replaces the defaults. The core group is empty (/nodes); GROUP/* is a whole group.")
}

// Validate reports every empty pattern, malformed resource and GitOps kind
// at once, and parses the flags into identities, skip and gitops.
func (o *identityOptions) Validate() error {
	o.identities = webhook.Identities{
		ExemptUsers:      append(slices.Clone(webhook.DefaultExemptUsers), o.exemptUsers...),
		ExemptGroups:     append(slices.Clone(webhook.DefaultExemptGroups), o.exemptGroups...),
		AgentUsers:       o.agents,
		AgentGroups:      o.agentGroups,
		ControllerUsers:  o.controllers,
		ControllerGroups: o.controllerGroups,
		PeopleProxies:    o.peopleProxies,
	}
	var errs []error
	var err error
	if o.identities.AgentFor, err = webhook.ParseScopes(o.agentFor); err != nil {
		errs = append(errs, fmt.Errorf("--agent-for %w", err))
	}
	if o.identities.Annotators, err = webhook.ParseScopes(o.annotators); err != nil {
		errs = append(errs, fmt.Errorf("--annotator %w", err))
	}
	errs = append(errs, o.identities.Validate())
	o.skip = nil
	for _, s := range o.skipResources {
		r, err := webhook.ParseResource(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--skip-resource %w", err))
			continue
		}
		o.skip = append(o.skip, r)
	}
	gitops, err := provenance.ParseGitOpsKinds(o.gitopsKinds)
	if err != nil {
		errs = append(errs, fmt.Errorf("--gitops-kind %w", err))
	}
	o.gitops = gitops
	if !slices.Equal(o.agentFor, webhook.DefaultAgentFor) {
		errs = append(errs, scopedAgentKinds(o.identities.AgentFor, gitops)...)
	}
	return errors.Join(errs...)
}

// scopedAgentKinds refuses an --agent-for kind that is no GitOps kind: a
// scoped agent is the agent for objects that a GitOps object generates
// and that tell the agent what to apply, never for workloads, Secrets or
// anything else that runs or holds a token. (The webhook never applies
// such a scope either; the default, Argo CD's Applications, stays inert
// where --gitops-kind leaves Argo CD out.)
func scopedAgentKinds(scopes []webhook.Scope, gitops provenance.GitOpsKinds) []error {
	var errs []error
	for _, s := range scopes {
		if !gitops.Has(s.Group, s.Kind) {
			errs = append(errs, fmt.Errorf("--agent-for %q: %s/%s is not a GitOps kind (--gitops-kind): a scoped agent is the agent only for objects that tell the GitOps agent what to apply", s.String(), s.Group, s.Kind))
		}
	}
	return errs
}
