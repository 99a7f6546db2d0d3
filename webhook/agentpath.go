package webhook

import (
	"fmt"

	"github.com/gitgate/gitgate/provenance"
)

// The ways to an identity above the caller's, part of judge's stage. Each
// hands whoever takes it an agent's or an exempt identity (or, to a person,
// a controller's) for longer than any grant and past every Git check: a
// Pod or workload that runs as its service account, a token Secret for
// it, a TokenRequest (judgeToken), an object that tells the GitOps agent
// what to apply, or a change to what such an object fetches and applies.
// So a refusal on one of these ways is hard: the mode and break-glass
// never let it pass (policy.go's rule), and only exempt callers, which
// are never judged, and the agents themselves take them.

// agentPath makes a refusal hard when its request is a way to an identity
// above the caller's: the verdict becomes agent-token (an agent's or an
// exempt identity) or controller-token (a person's Pod or token Secret of
// a controller's service account). What Git backs stays allowed: the
// agent applies it anyway.
func (h *Handler) agentPath(preq *provenance.Request, v verdict) verdict {
	if preq == nil || v.reason == reasonAgentToken || v.reason == reasonControllerToken {
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
	if v.allowed {
		reason, err = h.backedPath(preq)
	} else {
		reason, err = h.identityPath(preq, v.who.class)
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
func (h *Handler) backedPath(preq *provenance.Request) (provenance.Reason, error) {
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		if err := plainSync(preq); err != nil {
			return reasonAgentToken, err
		}
		return "", nil
	}
	sa := runsAs(preq)
	if sa == "" || preq.Operation != provenance.Update || !runsAnew(preq) {
		return "", nil
	}
	if target := h.Identities.serviceAccountClass(preq.Namespace, sa); target == Agent || target == Exempt {
		return reasonAgentToken, fmt.Errorf("it changes what runs as service account %s/%s, which is %s: only the agent applies that", preq.Namespace, sa, target)
	}
	return "", nil
}

// plainSync refuses an Argo CD Application's operation that asks the
// application controller for more than a sync of the spec's own source at
// its own revision: inline manifests (sync.manifests), another source
// (sync.source, sync.sources) or another revision (sync.revision,
// sync.revisions) are applied by the agent, as itself, past Git. The
// Sync button and `argocd app sync` write a plain one.
func plainSync(preq *provenance.Request) error {
	if preq.Group != "argoproj.io" || preq.Kind != "Application" {
		return nil
	}
	op, _ := preq.Object["operation"].(map[string]any)
	if op == nil || equalJSON(op, preq.OldObject["operation"]) {
		return nil
	}
	sync, _ := op["sync"].(map[string]any)
	for _, f := range []string{"manifests", "source", "sources", "revisions"} {
		if _, ok := sync[f]; ok {
			return fmt.Errorf("%w: operation.sync.%s would have Argo CD apply something else than the Application's spec", errGitOpsPath, f)
		}
	}
	if rev, _ := sync["revision"].(string); rev != "" && rev != targetRevision(preq.Object) {
		return fmt.Errorf("%w: operation.sync.revision %q is not the Application's targetRevision", errGitOpsPath, rev)
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
func (h *Handler) identityPath(preq *provenance.Request, caller Class) (provenance.Reason, error) {
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		if preq.Operation == provenance.Create || !equalExcept(gitOpsPart(preq.OldObject), gitOpsPart(preq.Object), gitOpsFree) {
			return reasonAgentToken, fmt.Errorf("%w: the GitOps agent would apply what this %s names, as itself, past every Git check", errGitOpsPath, preq.Kind)
		}
		return "", nil
	}
	sa := runsAs(preq)
	if sa == "" || !runsAnew(preq) {
		return "", nil
	}
	target := h.Identities.serviceAccountClass(preq.Namespace, sa)
	var reason provenance.Reason
	switch {
	case target == Agent || target == Exempt:
		reason = reasonAgentToken
	case target == Controller && caller == Person && (preq.Subresource == "" && (preq.Kind == "Pod" || preq.Kind == "Secret") || preq.Subresource == "ephemeralcontainers"):
		// A Pod or token Secret of a controller's service account is a
		// person minting its token outright, as a TokenRequest would, and
		// so is a debug container in its Pod, which can mount or read the
		// token as exec into it could (connect.go). A person's Deployment
		// or Job of one stays what the mode and break-glass say.
		reason = reasonControllerToken
	default:
		return "", nil
	}
	return reason, fmt.Errorf("it would run as, or hold the token of, service account %s/%s, which is %s", preq.Namespace, sa, target)
}

// runsAnew reports whether a request puts something new under the service
// account its object runs as: a create, a changed Pod template (an image,
// a command, a debug container: whatever runs, runs with the token), or
// a token Secret moved to another service account.
func runsAnew(preq *provenance.Request) bool {
	if preq.Operation == provenance.Create || preq.OldObject == nil {
		return true
	}
	path, ok := podSpecAt[preq.Kind]
	if !ok {
		return serviceAccountOf(preq.Group, preq.Kind, preq.OldObject) != serviceAccountOf(preq.Group, preq.Kind, preq.Object)
	}
	if len(path) > 1 {
		// The whole Pod template: its annotations too (a mutating
		// injector reads them, and runs code in the Pod with the token),
		// all but the stamp of a rollout restart.
		path = path[:len(path)-1]
		return !equalJSON(restartless(at(preq.OldObject, path)), restartless(at(preq.Object, path)))
	}
	return !equalJSON(at(preq.OldObject, path), at(preq.Object, path))
}

// restartStamp is what kubectl rollout restart stamps on a Pod
// template: a restart, not a change of what runs.
const restartStamp = "kubectl.kubernetes.io/restartedAt"

// restartless is a Pod template without restartStamp, and without an
// annotations map left empty (a shallow copy where either was there).
func restartless(tmpl any) any {
	t, _ := tmpl.(map[string]any)
	meta, _ := t["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	if _, ok := ann[restartStamp]; !ok && len(ann) > 0 || meta == nil || ann == nil && meta["annotations"] == nil {
		return tmpl
	}
	ann2 := make(map[string]any, len(ann))
	for k, v := range ann {
		if k != restartStamp {
			ann2[k] = v
		}
	}
	meta2 := make(map[string]any, len(meta))
	for k, v := range meta {
		meta2[k] = v
	}
	meta2["annotations"] = ann2
	if len(ann2) == 0 {
		// As if the template never had annotations: kubectl adds the map
		// for the stamp alone.
		delete(meta2, "annotations")
	}
	t2 := make(map[string]any, len(t))
	for k, v := range t {
		t2[k] = v
	}
	t2["metadata"] = meta2
	return t2
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
// operation, which can name its own source, included).
func gitOpsPart(obj map[string]any) map[string]any {
	part := make(map[string]any, len(obj))
	for k, v := range obj {
		switch k {
		case "metadata", "status", "apiVersion", "kind":
		default:
			part[k] = v
		}
	}
	return part
}

// equalExcept compares two decoded objects, leaving out the paths in
// skip (a missing value and a skipped one are alike).
func equalExcept(a, b map[string]any, skip [][]string) bool {
	for k := range union(a, b) {
		var below [][]string
		skipped := false
		for _, p := range skip {
			switch {
			case len(p) == 0 || p[0] != k:
			case len(p) == 1:
				skipped = true
			default:
				below = append(below, p[1:])
			}
		}
		switch {
		case skipped:
		case len(below) > 0 && isMapOrNil(a[k]) && isMapOrNil(b[k]):
			am, _ := a[k].(map[string]any)
			bm, _ := b[k].(map[string]any)
			if !equalExcept(am, bm, below) {
				return false
			}
		case !equalJSON(a[k], b[k]):
			return false
		}
	}
	return true
}

func isMapOrNil(v any) bool {
	_, ok := v.(map[string]any)
	return ok || v == nil
}

func union(a, b map[string]any) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
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
	if h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		return fmt.Errorf("%w: the GitOps agent would apply what this %s names, as itself, past every Git check", errGitOpsObject, preq.Kind)
	}
	sa := runsAs(preq)
	if sa == "" {
		return nil
	}
	if class := h.Identities.serviceAccountClass(preq.Namespace, sa); class == Agent || class == Exempt {
		return fmt.Errorf("it would run as, or hold the token of, service account %s/%s, which is %s", preq.Namespace, sa, class)
	}
	return nil
}

// runsAs names the service account a request's object would hand its
// token to (see serviceAccountOf).
func runsAs(preq *provenance.Request) string {
	return serviceAccountOf(preq.Group, preq.Kind, preq.Object)
}

// serviceAccountOf names the service account an object would hand its
// token to: the one a workload's Pods run as, or the one a
// service-account-token Secret is for; "" for anything else.
func serviceAccountOf(group, kind string, obj map[string]any) string {
	if group == "" && kind == "Secret" {
		if t, _ := obj["type"].(string); t != "kubernetes.io/service-account-token" {
			return ""
		}
		meta, _ := obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		name, _ := ann["kubernetes.io/service-account.name"].(string)
		return name
	}
	path, ok := podSpecAt[kind]
	if !ok || (group != "" && group != "apps" && group != "batch") {
		return ""
	}
	spec, _ := at(obj, path).(map[string]any)
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		if name, _ := spec[f].(string); name != "" {
			return name
		}
	}
	return "default"
}

// at is the value at path in obj, or nil.
func at(obj map[string]any, path []string) any {
	var node any = obj
	for _, f := range path {
		m, _ := node.(map[string]any)
		node = m[f]
	}
	return node
}

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

// equalJSON is reflect.DeepEqual for decoded JSON (maps, lists and
// scalars), without its allocations: runsAnew compares whole Pod
// templates on every refusal of a workload.
func equalJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) || (av == nil) != (bv == nil) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !equalJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) || (av == nil) != (bv == nil) {
			return false
		}
		for i := range av {
			if !equalJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	default:
		// Scalars: string, float64, int64, bool, nil, all comparable.
		switch b.(type) {
		case map[string]any, []any:
			return false
		}
		return a == b
	}
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
