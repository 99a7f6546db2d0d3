package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// Checker decides a request against a snapshot; *provenance.Checker is the
// implementation.
type Checker interface {
	Check(*provenance.Snapshot, *provenance.Request) provenance.Result
}

// Snapshots gives the snapshot in force; *provenance.Store implements it.
type Snapshots interface {
	Load() *provenance.Snapshot
}

// KindResolver maps a resource to its kind, for subresource requests whose
// object (a Scale) is not the kind Git declares. A RESTMapper implements it.
type KindResolver interface {
	KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error)
}

// Handler is gitgate's admission.Handler.
type Handler struct {
	Identities Identities
	// Skip lists resources allowed without a look (--skip-resource).
	Skip      Resources
	Snapshots Snapshots
	// Checker judges people, with the --fields the operator chose.
	Checker Checker
	// Controllers judges controllers: ControllerChecker, whatever --fields
	// says; nil judges them with Checker.
	Controllers Checker
	Kinds       KindResolver
	Repo        Repo
	// DenialHint ends every denial: the team's way in, e.g. who grants
	// break-glass (--denial-hint).
	DenialHint string

	// Modes gives the mode per namespace; nil enforces everywhere.
	Modes Modes
	// BreakGlass finds a grant covering the caller; nil means none.
	BreakGlass BreakGlass
	// Audit receives a record per refusal, would-be refusal and
	// break-glass use; nil writes none.
	Audit Auditor
	// Staleness bounds the age of the last Git sync; nil means no bound.
	Staleness *Staleness
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DecisionTimeout bounds the comparison of one request; 0 means
	// DefaultDecisionTimeout.
	DecisionTimeout time.Duration
	// TokenAudiences are audiences the API server does not accept (a
	// cloud's workload identity exchange): a token only for them is free.
	TokenAudiences []string
	// DryRunWarn allows a server dry run that would be denied, with the
	// denial as a warning (--dry-run-action warn). Token refusals stay
	// denied, as under any mode.
	DryRunWarn bool
	// Defaults, when set, holds a person's CREATE of a declared object to
	// the API server's defaults for Git's manifest (see checkCreate).
	Defaults Defaulter
}

// Defaulter gives a declared object as the API server would create it
// (nil: nothing to hold the create to, it fails on its own); an error
// refuses the create (defaults-unknown). *dryrun.Defaulter implements it,
// with a dry run in its sandbox namespace and an error for cluster-scoped
// kinds.
type Defaulter interface {
	Defaulted(ctx context.Context, e *provenance.Entry, rev provenance.Revision) (map[string]any, error)
}

// DefaultsChecker compares a create with those defaults;
// *provenance.Checker implements it.
type DefaultsChecker interface {
	CheckDefaults(e *provenance.Entry, defaulted, obj map[string]any) provenance.Result
}

// DefaultDecisionTimeout leaves the API server's 5 s webhook timeout room
// for decoding and the answer's way back.
const DefaultDecisionTimeout = 2 * time.Second

var (
	_ admission.Handler = &Handler{}
	_ DefaultsChecker   = (*provenance.Checker)(nil)
)

// ownSubresourceWrite reports a write a controller makes without a Git
// check: an update through an object subresource (status, in-place resize,
// finalize) that leaves labels, annotations, ownerReferences and
// finalizers as they were. Scale is not among them: it changes declared
// replicas. Nor are ephemeral containers: one added to the agent's Pod
// mounts the agent's token.
func ownSubresourceWrite(preq *provenance.Request) bool {
	return controllerSubresources[preq.Subresource] && preq.Operation == provenance.Update &&
		!provenance.MetadataChanged(preq.OldObject, preq.Object)
}

// controllerSubresources are the object subresources a controller writes
// unjudged (see ownSubresourceWrite); the webhook's matchConditions list
// the same.
var controllerSubresources = map[string]bool{"status": true, "resize": true, "finalize": true}

// ControllerChecker is the controller rule: a controller may set, change or
// remove what Git does not declare (provenance.FieldsDeclared), finalizers
// and ownerReferences included, but not add
// an element to a keyed list, such as a container to a declared
// Deployment: whoever holds any service account's token is a controller.
func ControllerChecker(ignores *provenance.Ignores) *provenance.Checker {
	return &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true, Ignores: ignores}
}

// errUnresolvedKind: a subresource request (scale) names a resource that
// discovery cannot map to a kind, so gitgate cannot tell which declared
// object it changes. That is gitgate's blind spot, not the client's fault:
// it is refused (fail closed) through the policy, so the mode, break-glass
// and the audit trail apply as to any other refusal.
var errUnresolvedKind = errors.New("cannot resolve the kind of the resource")

// Handle decides one admission request: a skipped resource, an exempt
// caller or an agent first (no Git lookup), then the Git verdict, then
// what to do with a request Git does not back (applyPolicy, in policy.go:
// break-glass, then the mode).
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := h.now()
	class, match := h.Identities.Classify(req.UserInfo)
	who := caller{user: req.UserInfo.Username, class: class, match: match}
	switch {
	case h.Skip.Has(req.Resource.Group, req.Resource.Resource):
		observe(&req, "allowed", reasonSkippedResource, class, start)
		return admission.Allowed("")
	case class == Exempt:
		observe(&req, "allowed", reasonExempt, class, start)
		return admission.Allowed("")
	case isTokenRequest(&req):
		// Before the agent: an agent minting its own token for someone
		// else is exactly the escalation this refuses.
		return h.handleTokenRequest(ctx, &req, who, start)
	case class == Agent:
		observe(&req, "allowed", reasonAgent, class, start)
		return admission.Allowed("")
	}

	preq, err := h.decode(&req)
	snap := h.Snapshots.Load()
	if errors.Is(err, errUnresolvedKind) {
		return h.applyPolicy(ctx, &req, preq, snap, verdict{who: who, reason: reasonUnresolvedKind, err: err}, start)
	}
	if err != nil {
		observe(&req, "error", reasonBadRequest, class, start)
		return admission.Errored(http.StatusBadRequest, err)
	}
	if class == Controller && ownSubresourceWrite(preq) {
		// A controller's status, in-place resize and the like are its own:
		// allowed unjudged, and the matchConditions keep this high-churn
		// traffic away from gitgate altogether.
		observe(&req, "allowed", provenance.ReasonSubresource, class, start)
		return admission.Allowed("")
	}
	preq.Deadline = start.Add(h.decisionTimeout())
	v := h.judge(snap, preq, class, start)
	if v.allowed && class == Person && preq.Operation == provenance.Create && v.result.Entry != nil {
		v = h.checkCreate(ctx, snap, preq, v)
	}
	v.who = who
	if v.allowed {
		observe(&req, "allowed", v.reason, class, start)
		return admission.Allowed("")
	}
	return h.applyPolicy(ctx, &req, preq, snap, v, start)
}

// caller is who sent a request, as Classify placed them.
type caller struct {
	user  string
	class Class
	// match is the pattern or group that made the class; "" for a person.
	match string
}

// verdict is the Git side's answer, before mode and break-glass.
type verdict struct {
	who     caller
	allowed bool
	reason  provenance.Reason
	result  provenance.Result
	// age of the last sync of root, for stale.
	age  time.Duration
	root *provenance.RootState
	// err explains a refusal that has no provenance result.
	err error
}

// judge asks Git. Not-synced comes first: without a snapshot there is
// nothing to compare with. A verdict resting on a root synced longer ago
// than --max-staleness becomes stale (with --stale-action deny).
func (h *Handler) judge(snap *provenance.Snapshot, preq *provenance.Request, class Class, now time.Time) verdict {
	if snap == nil {
		return verdict{reason: reasonNotSynced}
	}
	var v verdict
	if class == Controller {
		v = h.judgeController(snap, preq)
	} else {
		res := h.Checker.Check(snap, preq)
		v = verdict{allowed: res.Allowed, reason: res.Reason, result: res}
	}
	if v.reason == reasonAgentToken || h.Staleness == nil || !h.Staleness.Deny {
		return v // a token refusal is harder than stale: no grant covers it
	}
	if age, root, stale := h.Staleness.stale(snap, v.result, now); stale {
		return verdict{reason: reasonStale, age: age, root: root, result: provenance.Result{Entry: v.result.Entry}}
	}
	return v
}

// judgeController holds a controller to what Git declares and nothing
// more: objects Git does not declare are its own (not-in-git and
// not-managed are allowed), and on a declared object only declared values
// count. A declared value changed or removed, a declared object deleted
// (managed-delete) and gitgate's own Namespace label (undeclared-change)
// stay refused.
func (h *Handler) judgeController(snap *provenance.Snapshot, preq *provenance.Request) verdict {
	c := h.Controllers
	if c == nil {
		c = h.Checker
	}
	if preq.Subresource == "ephemeralcontainers" {
		// The container may mount any volume of the Pod, its service
		// account token included: never one of an agent's or exempt Pod.
		if err := h.agentIdentityUse(preq); err != nil {
			return verdict{reason: reasonAgentToken, err: err}
		}
	}
	res := c.Check(snap, preq)
	if res.Reason == provenance.ReasonNotInGit {
		if err := h.agentIdentityUse(preq); err != nil {
			return verdict{reason: reasonAgentToken, err: err}
		}
		res.Allowed = true
	}
	return verdict{allowed: res.Allowed, reason: res.Reason, result: res}
}

// checkCreate holds a person's CREATE of a declared object, which matched
// what Git declares, to what the API server makes of Git's manifest: a
// person creating the object before the GitOps agent may not add what Git
// leaves out. Without the defaults gitgate cannot tell, and refuses. An
// object several roots declare is held to each declaration.
func (h *Handler) checkCreate(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request, v verdict) verdict {
	dc, ok := h.Checker.(DefaultsChecker)
	if h.Defaults == nil || !ok {
		return v
	}
	// The dry run shares the decision's deadline: a slow API server makes
	// it fail closed, not hold the admission request.
	ctx, cancel := context.WithDeadline(ctx, preq.Deadline)
	defer cancel()
	for _, e := range snap.Declarations(v.result.Entry.Key) {
		var rev provenance.Revision
		if st := snap.RootOf(e); st != nil {
			rev = st.Revision
		}
		defaulted, err := h.Defaults.Defaulted(ctx, e, rev)
		if err != nil {
			return verdict{reason: reasonNoDefaults, err: err, result: provenance.Result{Entry: e}}
		}
		if defaulted == nil {
			return v // the object exists: the API server refuses the create itself
		}
		if res := dc.CheckDefaults(e, defaulted, preq.Object); !res.Allowed {
			return verdict{reason: res.Reason, result: res}
		}
	}
	return v
}

func (h *Handler) decisionTimeout() time.Duration {
	if h.DecisionTimeout > 0 {
		return h.DecisionTimeout
	}
	return DefaultDecisionTimeout
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// decode turns an admission request into a provenance request. Errors are
// the client's: the body is not a valid object.
func (h *Handler) decode(req *admission.Request) (*provenance.Request, error) {
	preq := &provenance.Request{
		Operation:   provenance.Operation(req.Operation),
		Group:       req.Kind.Group,
		Version:     req.Kind.Version,
		Kind:        req.Kind.Kind,
		Namespace:   req.Namespace,
		Name:        req.Name,
		Subresource: req.SubResource,
	}
	if preq.Group == "" && preq.Kind == "Namespace" {
		// The API server sets a Namespace's own name as the request's
		// namespace; the object itself is cluster-scoped.
		preq.Namespace = ""
	}
	var kindErr error
	if req.SubResource != "" {
		// The object is the subresource's (a Scale); Git declares the
		// object it belongs to.
		gvk, err := h.Kinds.KindFor(schema.GroupVersionResource{Group: req.Resource.Group, Version: req.Resource.Version, Resource: req.Resource.Resource})
		if err != nil {
			kindErr = fmt.Errorf("%w %s.%s: %w", errUnresolvedKind, req.Resource.Resource, req.Resource.Group, err)
		} else {
			preq.Group, preq.Version, preq.Kind = gvk.Group, gvk.Version, gvk.Kind
		}
	}
	var err error
	if preq.Object, err = decodeObject(req.Object.Raw, "object"); err != nil {
		return nil, err
	}
	if preq.Object != nil && bytes.Equal(req.OldObject.Raw, req.Object.Raw) {
		// A no-op update (most often a controller's): the same bytes are
		// the same values, and the checks only read them.
		preq.OldObject = preq.Object
	} else if preq.OldObject, err = decodeObject(req.OldObject.Raw, "oldObject"); err != nil {
		return nil, err
	}
	if kindErr != nil {
		return preq, kindErr
	}
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
		if preq.Object == nil {
			return nil, fmt.Errorf("%s request without an object", req.Operation)
		}
	}
	return preq, nil
}

func decodeObject(raw []byte, field string) (map[string]any, error) {
	obj, err := provenance.DecodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", field, err)
	}
	return obj, nil
}

func diffPaths(res provenance.Result) []string {
	out := make([]string, len(res.Diffs))
	for i, d := range res.Diffs {
		out[i] = d.Path.String()
	}
	return out
}
