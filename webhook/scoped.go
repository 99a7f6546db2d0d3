package webhook

import (
	"context"
	"strings"

	"github.com/gitgate/gitgate/provenance"
)

// The scoped identities, part of judge's stage: callers whose class does
// not say all there is to them. A scoped agent (--agent-for) is the agent
// for the objects of one kind that a GitOps object controls (Argo CD's
// ApplicationSet controller, for the Applications its ApplicationSets
// generate), an annotator (--annotator) may change the annotations of the
// objects of one kind and nothing else of them (Argo CD's notifications
// controller), and a people proxy (--people-proxy), a person by its class,
// may start a plain sync of an Argo CD Application (argocd-server's Sync
// button), and a root's own agent (provenance.Composer.SetAgents) is the
// agent for the objects that root alone declares; a root's sync agent
// (SetSyncAgents) only for what no one but the agent may write of them
// (syncAgentWrite). Each answers only the
// requests its scope covers, and only with what it grants; everything
// else is judged by the caller's class, so no scope reaches a workload.

// scopedVerdict is the verdict on preq of the scope of who that covers it,
// and whether one does. Only an object itself (no subresource) is in a
// scope.
func (h *Handler) scopedVerdict(snap *provenance.Snapshot, preq *provenance.Request, who caller) (verdict, bool) {
	if preq.Subresource != "" {
		return verdict{}, false
	}
	if root, ok := rootAgentOf(snap, preq, who); ok {
		return verdict{who: caller{user: who.user, class: Agent, match: root.String()}, allowed: true, reason: reasonAgent}, true
	}
	if s, ok := scopeFor(h.Identities.AgentFor, who.user, preq.Group, preq.Kind); ok && h.GitOpsKinds.Has(preq.Group, preq.Kind) &&
		snap != nil && h.controlledByGitOps(preq) && snap.Lookup(preq.Key()) == nil {
		return scopedAgent(preq, who, s), true
	}
	if who.proxy && operationOnly(preq) {
		if err := plainSync(preq); err != nil {
			return verdict{who: who, reason: reasonAgentToken, err: err}, true
		}
		return verdict{who: who, allowed: true, reason: reasonPlainSync}, true
	}
	if _, ok := scopeFor(h.Identities.Annotators, who.user, preq.Group, preq.Kind); ok && snap != nil && annotationsOnly(preq) &&
		(!who.proxy || snap.Lookup(preq.Key()) == nil) {
		// A people proxy annotates what Git declares as the person it writes
		// for (a refresh is free there anyway): its Update API copies any
		// annotation a user sends, argocd.argoproj.io/skip-reconcile too.
		return h.annotationsVerdict(snap, preq, who), true
	}
	return verdict{}, false
}

// rootAgentOf is the root whose agent who is for the object of preq: a
// root that names the caller as the identity the agent applies it as (a
// HelmRelease's spec.serviceAccountName, which helm-controller
// impersonates) and alone declares the object (Snapshot.AgentOf), or
// claims it (Helm's records of the release, Snapshot.AgentOfClaim). For
// any other object, an input of the root's render, or a people proxy,
// the caller is judged by its class. The object as it is declared now
// decides: an upgrade's change of a declared object passes before
// gitgate has rendered it, and its new objects are a controller's
// creates.
func rootAgentOf(snap *provenance.Snapshot, preq *provenance.Request, who caller) (provenance.Root, bool) {
	if snap == nil || who.proxy {
		return provenance.Root{}, false
	}
	if _, claimed := snap.ClaimOf(preq.Group, preq.Kind, preq.Namespace, preq.OldObject, preq.Object); claimed {
		// A claimed object, as it was or as it will be, is the claim's
		// alone: a root's agent may not relabel an object its root
		// declares as another release's record.
		return snap.AgentOfClaim(who.user, preq.Group, preq.Kind, preq.Namespace, preq.OldObject, preq.Object)
	}
	return snap.AgentOf(who.user, preq.Key())
}

// syncAgentWrite is v, or when v refuses, as only the agent may write
// it, a write of an object one root alone declares that names the caller
// its sync agent (provenance.Composer.SetSyncAgents: the account Argo CD
// syncs an Application as, which argocd-server acts as too for people's
// edits in its UI: patches, deletes, resource actions), the agent's when
// it is what the agent writes: a hook (Entry.Transient) created or
// updated as Git declares it, or deleted; the values the render cannot
// reproduce, of an object it does reproduce. A create is held besides to
// the API server's defaults for Git's manifest where a controller's is
// (a Pod template: no hostPID, no other service account). Never a
// claimed object (a Helm release record), an object the render cannot
// reproduce at all, or anything else only the agent writes.
func (h *Handler) syncAgentWrite(ctx context.Context, raw []byte, snap *provenance.Snapshot, preq *provenance.Request, v verdict) verdict {
	e := v.result.Entry
	if v.allowed || snap == nil || preq.Subresource != "" || v.who.proxy || e == nil || e.WholeIndeterminate() ||
		v.reason != provenance.ReasonAgentOnly && v.reason != provenance.ReasonIndeterminate ||
		v.reason == provenance.ReasonAgentOnly && !e.Transient {
		return v
	}
	root, ok := snap.SyncAgentOf(v.who.user, preq.Key())
	if !ok || len(snap.Declarations(preq.Key())) != 1 {
		return v
	}
	if _, claimed := snap.ClaimOf(preq.Group, preq.Kind, preq.Namespace, preq.OldObject, preq.Object); claimed {
		return v
	}
	agent := verdict{who: caller{user: v.who.user, class: Agent, match: root.String()}, allowed: true, reason: reasonAgent, result: v.result}
	if preq.Operation == provenance.Delete {
		return agent // a hook's: Argo CD deletes it after its sync
	}
	c, ok := h.checkerFor(Controller).(*provenance.Checker)
	if !ok {
		return v
	}
	sync := *c
	sync.SyncAgent = true
	if res := sync.Check(snap, preq); !res.Allowed && res.Reason != provenance.ReasonIndeterminate {
		v.reason, v.result = res.Reason, res
		return v
	}
	if preq.Operation == provenance.Create && h.createNeedsDefaults(Controller, preq) {
		keepManagedFields(raw, preq)
		if d := h.checkCreate(ctx, snap, preq, &sync, agent); !d.allowed {
			d.who = v.who
			return d
		}
	}
	return agent
}

// scopedAgent is the verdict on a scoped agent's write of an object its
// scope covers: of a GitOps kind (a scope of any other kind covers
// nothing: a scoped agent never reaches a workload), controlled by a
// GitOps object, and not declared by Git (what Git declares is the
// agent's, and a scoped agent is judged by its class there). Allowed as
// the agent's, but for an Argo CD Application's operation beyond a plain
// sync (inline manifests, another source or revision), which the
// ApplicationSet controller never writes.
func scopedAgent(preq *provenance.Request, who caller, s Scope) verdict {
	if err := plainSync(preq); err != nil {
		return verdict{who: who, reason: reasonAgentToken, err: err}
	}
	return verdict{who: caller{user: who.user, class: Agent, match: s.String()}, allowed: true, reason: reasonAgent}
}

// controlledByGitOps reports whether the object of preq, as it was and as
// it will be, has a controller of a GitOps kind (--gitops-kind): an
// Application its ApplicationSet generated. So a scoped agent can neither
// take over an object no GitOps object controls (the Applications Git
// declares) nor make one out of it.
func (h *Handler) controlledByGitOps(preq *provenance.Request) bool {
	objs := 0
	for _, obj := range []map[string]any{preq.OldObject, preq.Object} {
		if obj == nil {
			continue
		}
		objs++
		if !h.hasGitOpsController(obj) {
			return false
		}
	}
	return objs > 0
}

// hasGitOpsController reports an ownerReference with controller: true to
// an object of a GitOps kind.
func (h *Handler) hasGitOpsController(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		apiVersion, _ := ref["apiVersion"].(string)
		kind, _ := ref["kind"].(string)
		group, _, hasVersion := strings.Cut(apiVersion, "/")
		if isController, _ := ref["controller"].(bool); isController && hasVersion && h.GitOpsKinds.Has(group, kind) {
			return true
		}
	}
	return false
}

// annotationFree are the paths an annotator may change, with those the API
// server sets on any update.
var annotationFree = [][]string{
	{"metadata", "annotations"},
	{"metadata", "resourceVersion"},
	{"metadata", "generation"},
	{"metadata", "managedFields"},
}

// annotationsOnly reports an update that changes the object's
// annotations and nothing else: not its labels, finalizers or
// ownerReferences, not its spec, not an Application's operation.
func annotationsOnly(preq *provenance.Request) bool {
	return preq.Operation == provenance.Update && preq.OldObject != nil && preq.Object != nil &&
		equalExcept(preq.OldObject, preq.Object, annotationFree)
}

// annotationsVerdict judges an annotator's annotations as a controller's
// are judged: those Git does not declare are free, on any object of the
// kind, declared or not (an Application its ApplicationSet generated);
// those Git declares hold their values.
func (h *Handler) annotationsVerdict(snap *provenance.Snapshot, preq *provenance.Request, who caller) verdict {
	res := h.checkerFor(Controller).Check(snap, preq)
	if res.Allowed || res.Reason == provenance.ReasonNotInGit {
		return verdict{who: who, allowed: true, reason: reasonAnnotations, result: res}
	}
	return verdict{who: who, reason: res.Reason, result: res}
}

// syncFree are the paths a people proxy's sync changes, with those the API
// server sets on any update (an Application has no status subresource: its
// generation moves with its operation). plainSync judges the operation, and
// the one in progress in the status (opstate.go).
var syncFree = [][]string{
	{"operation"},
	{"status"},
	{"metadata", "resourceVersion"},
	{"metadata", "generation"},
	{"metadata", "managedFields"},
}

// operationOnly reports an update of an Argo CD Application that changes
// its operation and status and nothing else: a sync (plainSync then
// judges the operation, and the one in progress in the status), or its
// termination (argocd app terminate-op writes status.operationState.phase).
func operationOnly(preq *provenance.Request) bool {
	return preq.Group == "argoproj.io" && preq.Kind == "Application" && preq.Operation == provenance.Update &&
		preq.OldObject != nil && preq.Object != nil && equalExcept(preq.OldObject, preq.Object, syncFree)
}
