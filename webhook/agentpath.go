package webhook

import (
	"context"
	"fmt"

	"github.com/gitgate/gitgate/provenance"
)

// The ways to an identity above the caller's, part of judge's stage. Each
// hands whoever takes it an agent's or an exempt identity (or, to a person,
// a controller's) for longer than any grant and past every Git check: a
// Pod or workload that runs as its service account or references its
// token Secret by name, a token Secret for it, a TokenRequest (judgeToken), an object that tells the GitOps agent
// what to apply, or a change to what such an object fetches and applies.
// So a refusal on one of these ways is hard: the mode and break-glass
// never let it pass (policy.go's rule), and only exempt callers, which
// are never judged, and the agents themselves take them.

// agentPath makes a refusal hard when its request is a way to an identity
// above the caller's: the verdict becomes agent-token (an agent's or an
// exempt identity) or controller-token (a person's Pod or token Secret of
// a controller's service account). What Git backs stays allowed: the
// agent applies it anyway.
func (h *Handler) agentPath(ctx context.Context, preq *provenance.Request, v verdict) verdict {
	if preq == nil || v.reason == reasonAgentToken || v.reason == reasonControllerToken || v.reason == reasonSecretUnknown {
		return v
	}
	if artifactStatus(preq) {
		return verdict{who: v.who, reason: reasonAgentToken, result: provenance.Result{Entry: v.result.Entry},
			err: fmt.Errorf("%w: kustomize-controller and helm-controller fetch the artifact this status names and trust its digest", errGitOpsPath)}
	}
	if !mayOpenPath(preq) {
		return v
	}
	var reason provenance.Reason
	var err error
	switch {
	case v.allowed && preq.Operation == provenance.Create && v.result.Entry != nil && handsToken(preq.Group, preq.Kind) &&
		runsAs(preq) != serviceAccountOf(preq.Group, preq.Kind, v.result.Entry.Object()):
		// Git backs the object, not whom it hands a token to: a declared
		// Secret created as a token Secret (a field Git leaves out), or a
		// workload run as another account, is judged as an undeclared one.
		reason, err = h.identityPath(ctx, preq, v.who.class)
	case v.allowed:
		reason, err = h.backedPath(ctx, preq)
	default:
		reason, err = h.identityPath(ctx, preq, v.who.class)
	}
	if reason == "" {
		return v
	}
	return verdict{who: v.who, reason: reason, err: err, result: provenance.Result{Entry: v.result.Entry}}
}

// backedPath is the hard refusal of a request Git backs that is still a
// way to the agent, or "": a change of what runs as an agent's or exempt
// service account (Git may declare a new image the agent has yet to
// apply: the agent applies it, nobody else; a rollout restart is no
// change), and an Argo CD operation that syncs anything but the
// Application's own spec. Git's backing covers the fields it compares
// (with --fields declared, not a container Git does not declare; an
// Application's operation, never).
func (h *Handler) backedPath(ctx context.Context, preq *provenance.Request) (provenance.Reason, error) {
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		if err := plainSync(preq); err != nil {
			return reasonAgentToken, err
		}
		return "", nil
	}
	if preq.Operation != provenance.Update || !runsAnew(preq) {
		return "", nil
	}
	o, err := h.holderOf(ctx, preq, Agent)
	switch {
	case err != nil:
		return reasonSecretUnknown, err
	case o.class == Agent || o.class == Exempt:
		return reasonAgentToken, fmt.Errorf("it changes what runs as, or with the token of, %s, which is %s: only the agent applies that", o, o.class)
	}
	return "", nil
}

// plainSync refuses an Argo CD Application's operation that asks the
// application controller for more than a sync of the spec's own source at
// its own revision: inline manifests (sync.manifests), another source
// (sync.source, sync.sources) or another revision (sync.revision,
// sync.revisions) are applied by the agent, as itself, past Git. The
// Sync button and `argocd app sync` write a plain one. The operation in
// progress in its status is held to the same (opstate.go).
func plainSync(preq *provenance.Request) error {
	if !isApplication(preq) {
		return nil
	}
	op, _ := preq.Object["operation"].(map[string]any)
	if err := plainOperation("operation", op, preq.OldObject["operation"], preq.Object); err != nil {
		return err
	}
	return plainOperation("status.operationState.operation", pendingOperation(preq.Object), pendingOperation(preq.OldObject), preq.Object)
}

// plainOperation refuses op, the operation at path of app, unless it is
// old (not started by this request) or a plain sync.
func plainOperation(path string, op map[string]any, old any, app map[string]any) error {
	if op == nil || equalJSON(op, old) {
		return nil
	}
	sync, _ := op["sync"].(map[string]any)
	for _, f := range []string{"manifests", "source", "sources", "revisions"} {
		if _, ok := sync[f]; ok {
			return fmt.Errorf("%w: %s.sync.%s would have Argo CD apply something else than the Application's spec", errGitOpsPath, path, f)
		}
	}
	if rev, _ := sync["revision"].(string); rev != "" && rev != targetRevision(app) {
		return fmt.Errorf("%w: %s.sync.revision %q is not the Application's targetRevision", errGitOpsPath, path, rev)
	}
	return nil
}

// targetRevision is an Application's spec.source.targetRevision.
func targetRevision(app map[string]any) string {
	rev, _ := at(app, []string{"spec", "source", "targetRevision"}).(string)
	return rev
}

// mayOpenPath: a create or update of an object itself, or ephemeral
// containers, which come with their whole Pod. A delete hands out nothing,
// and other subresources carry no Pod template.
func mayOpenPath(preq *provenance.Request) bool {
	return (preq.Operation == provenance.Create || preq.Operation == provenance.Update) &&
		(preq.Subresource == "" || preq.Subresource == "ephemeralcontainers")
}

// identityPath is the hard refusal reason of a request by a caller of
// class caller, with why, or "" when the request is no way up.
func (h *Handler) identityPath(ctx context.Context, preq *provenance.Request, caller Class) (provenance.Reason, error) {
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		if preq.Operation == provenance.Create || !equalExcept(gitOpsPart(preq.OldObject), gitOpsPart(preq.Object), gitOpsFree) {
			return reasonAgentToken, fmt.Errorf("%w: the GitOps agent would apply what this %s names, as itself, past every Git check", errGitOpsPath, preq.Kind)
		}
		return "", nil
	}
	if !runsAnew(preq) {
		return "", nil
	}
	// A Pod or token Secret of a controller's service account is a person
	// minting its token outright, as a TokenRequest would, and so is a
	// debug container in its Pod, which can mount or read the token as
	// exec into it could (connect.go). A person's Deployment or Job of one
	// stays what the mode and break-glass say.
	mints := preq.Subresource == "" && (preq.Kind == "Pod" || preq.Kind == "Secret") || preq.Subresource == "ephemeralcontainers"
	least := Agent
	if caller == Person && mints {
		least = Controller
	}
	o, err := h.holderOf(ctx, preq, least)
	var reason provenance.Reason
	switch {
	case err != nil:
		return reasonSecretUnknown, err
	case o.class == Agent || o.class == Exempt:
		reason = reasonAgentToken
	case o.class == Controller && least == Controller:
		reason = reasonControllerToken
	default:
		return "", nil
	}
	return reason, fmt.Errorf("it would run as, or hold the token of, %s, which is %s", o, o.class)
}

// gitOpsFree are the paths of a GitOps object that change when, not what,
// the agent applies: suspending a Flux object, turning an Argo CD
// Application's automated sync off or on. The mode and break-glass cover
// them (an emergency may need the agent paused); nothing else of the
// object but its metadata and status.
var gitOpsFree = [][]string{
	{"spec", "suspend"},
	{"spec", "syncPolicy", "automated"},
}

// gitOpsPart is what of a GitOps object tells the agent what to fetch and
// apply: everything but its metadata and status (an Argo CD Application's
// operation, which can name its own source, included, and the operation
// in progress its status holds; an AppProject's labels, which pick its
// global projects, too).
func gitOpsPart(obj map[string]any) map[string]any {
	part := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		switch k {
		case "metadata", "status", "apiVersion", "kind":
		default:
			part[k] = v
		}
	}
	if obj["kind"] == "AppProject" {
		// Not a field either: an AppProject's labels choose the global
		// projects (argocd-cm globalProjects) whose settings, the accounts
		// Argo CD syncs as among them, it takes on.
		if md, ok := obj["metadata"].(map[string]any); ok && md["labels"] != nil {
			part["metadata.labels"] = md["labels"]
		}
	}
	if op := pendingOperation(obj); op != nil {
		// Not a field: the key no object has names the status's operation
		// in progress, which the application controller runs (opstate.go).
		part["status.operationState.operation"] = op
	}
	return part
}

// agentIdentityUse reports, for an object Git does not declare that a
// controller creates or changes, the refusal when it would run as (or
// hold the token of) a service account that is an agent or exempt: a
// controller may create what Git does not declare, but not a way to
// become the agent.
func (h *Handler) agentIdentityUse(ctx context.Context, preq *provenance.Request) (provenance.Reason, error) {
	if preq.Operation == provenance.Delete || preq.Subresource != "" && preq.Subresource != "ephemeralcontainers" {
		// A subresource carries no Pod template, but ephemeral containers
		// come with their whole Pod, which says whose token they can mount.
		return "", nil
	}
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		return reasonAgentToken, fmt.Errorf("%w: the GitOps agent would apply what this %s names, as itself, past every Git check", errGitOpsObject, preq.Kind)
	}
	o, err := h.holderOf(ctx, preq, Agent)
	switch {
	case err != nil:
		return reasonSecretUnknown, err
	case o.class == Agent || o.class == Exempt:
		return reasonAgentToken, fmt.Errorf("it would run as, or hold the token of, %s, which is %s", o, o.class)
	}
	return "", nil
}

// escalation is the refusal reason when a caller of class caller may not
// hold the token of a service account of class target, or "": minting it
// (a TokenRequest), or reaching into a Pod that holds it (exec, attach,
// port-forward). An agent's or exempt identity's token is for exempt
// callers alone, and a person may not hold a controller's: it would lift
// the person past the rules for people.
func escalation(caller, target Class) provenance.Reason {
	switch {
	case target == Agent || target == Exempt:
		return reasonAgentToken
	case target == Controller && caller == Person:
		return reasonControllerToken
	}
	return ""
}

// artifactGroups are the API groups whose objects' status names the
// artifact the Flux agents fetch and apply: status.artifact's URL and the
// digest they check it against come from the same status, so whoever
// writes it chooses what the agent applies. Only the agent (source
// controller) writes it; the webhook's matchConditions send these status
// writes to gitgate for every other service account.
var artifactGroups = map[string]bool{"source.toolkit.fluxcd.io": true, "source.extensions.fluxcd.io": true}

// artifactStatus reports a write of a Flux source's status.
func artifactStatus(preq *provenance.Request) bool {
	return preq.Subresource == "status" && artifactGroups[preq.Group]
}
