package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// The second stage of a decision: the Git side's verdict on a request its
// caller's class did not settle. judge reads the objects (decode), and only
// judge does, so the classes settled before it never pay for that. It
// holds a TokenRequest to the token rules, a controller to the controller
// rule (and to whom its objects run as), a person to --fields, and a
// person's create of a declared object to the API server's defaults.

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
	// enforce: refused in every mode, though a grant may cover it
	// (--connect deny-people).
	enforce bool
}

// judge gives the verdict on req, with the request as decoded and the
// snapshot the verdict read, which the policy and the message read too.
// An error is the client's (the body is not a valid object): answered 400,
// with no verdict.
func (h *Handler) judge(ctx context.Context, req *admission.Request, who caller, start time.Time) (*provenance.Request, *provenance.Snapshot, verdict, error) {
	if isTokenRequest(req) {
		return h.judgeToken(req, who)
	}
	if isConnect(req) {
		return h.judgeConnect(ctx, req, who)
	}
	preq, err := h.decode(req)
	snap := h.Snapshots.Load()
	switch {
	case errors.Is(err, errUnresolvedKind):
		// Still a way to the agent, whatever kind it turns out to be (the
		// request's own kind names a Pod or a Flux source).
		return preq, snap, h.agentPath(ctx, preq, verdict{who: who, reason: reasonUnresolvedKind, err: err}), nil
	case err != nil:
		return nil, nil, verdict{}, err
	case who.class == Controller && ownSubresourceWrite(preq):
		// A controller's status, in-place resize and the like are its own:
		// allowed unjudged, and the matchConditions keep this high-churn
		// traffic away from gitgate altogether.
		return preq, snap, verdict{who: who, allowed: true, reason: provenance.ReasonSubresource}, nil
	}
	preq.Deadline = start.Add(h.decisionTimeout())
	h.keepDeletedManagedFields(req.OldObject.Raw, preq)
	keepOperationState(req.Object.Raw, req.OldObject.Raw, preq)
	if v, ok := h.scopedVerdict(snap, preq, who); ok {
		return preq, snap, h.agentPath(ctx, preq, v), nil
	}
	v := h.gitVerdict(ctx, snap, preq, who.class, start)
	if v.reason == provenance.ReasonVersionMismatch && preq.Operation == provenance.Update {
		v = h.inGitVersion(ctx, snap, preq, who.class, start, v)
	}
	if v.reason == provenance.ReasonNeedsDefaults {
		v = h.checkAdded(ctx, snap, preq, h.checkerFor(who.class), v)
	}
	if v.allowed && preq.Operation == provenance.Create && v.result.Entry != nil && h.createNeedsDefaults(who.class, preq) {
		keepManagedFields(req.Object.Raw, preq)
		v = h.checkCreate(ctx, snap, preq, h.checkerFor(who.class), v)
	}
	v.who = who
	return preq, snap, h.agentPath(ctx, preq, h.syncAgentWrite(ctx, req.Object.Raw, snap, preq, v)), nil
}

// judgeToken judges a TokenRequest of a caller that is not exempt, agents
// included. A token makes its holder the service account, so no caller may
// mint one that lifts it to a higher class: an agent's or an exempt
// identity's token is for exempt callers alone, and a person may not mint
// a controller's token (it would escape the rules for people). A token
// only for audiences in --token-audience (a cloud's workload identity
// exchange) cannot reach the API server and is free. Only a refusal
// decodes the request, for the record and the message.
func (h *Handler) judgeToken(req *admission.Request, who caller) (*provenance.Request, *provenance.Snapshot, verdict, error) {
	target := h.accountClass(h.snapshot(), req.Namespace, req.Name)
	reason := escalation(who.class, target)
	if reason == "" || h.foreignAudiencesOnly(req) {
		return nil, nil, verdict{who: who, allowed: true, reason: provenance.ReasonSubresource}, nil
	}
	preq, err := h.decode(req)
	if err != nil {
		return nil, nil, verdict{}, err
	}
	v := verdict{who: who, reason: reason, err: fmt.Errorf("service account %s/%s is %s", req.Namespace, req.Name, target)}
	return preq, h.Snapshots.Load(), v, nil
}

// foreignAudiencesOnly reports a TokenRequest whose audiences are all in
// --token-audience: a token the API server does not accept.
func (h *Handler) foreignAudiencesOnly(req *admission.Request) bool {
	if len(h.TokenAudiences) == 0 {
		return false
	}
	var tr struct {
		Spec struct {
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(req.Object.Raw, &tr); err != nil || len(tr.Spec.Audiences) == 0 {
		return false // no audiences: the API server's own
	}
	for _, a := range tr.Spec.Audiences {
		if !slices.Contains(h.TokenAudiences, a) {
			return false
		}
	}
	return true
}

// decode turns an admission request into a provenance request. Errors are
// the client's: the body is not a valid object. errUnresolvedKind is not:
// it comes with the request decoded, and judge refuses it through the
// policy.
func (h *Handler) decode(req *admission.Request) (*provenance.Request, error) {
	preq := &provenance.Request{
		Operation:   provenance.Operation(req.Operation),
		Group:       req.Kind.Group,
		Version:     req.Kind.Version,
		Kind:        req.Kind.Kind,
		Namespace:   req.Namespace,
		Name:        req.Name,
		Subresource: req.SubResource,
		// Kept for the ownership checks, which read what decoding skips.
		ObjectRaw: req.Object.Raw, OldObjectRaw: req.OldObject.Raw, Options: req.Options.Raw,
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

// ownSubresourceWrite reports a write a controller makes without a Git
// check: an update through an object subresource (status, in-place resize,
// finalize) that leaves labels, annotations, ownerReferences and
// finalizers as they were. Scale is not among them: it changes declared
// replicas. Nor are ephemeral containers: one added to the agent's Pod
// mounts the agent's token.
func ownSubresourceWrite(preq *provenance.Request) bool {
	return controllerSubresources[preq.Subresource] && preq.Operation == provenance.Update &&
		!provenance.MetadataChanged(preq.OldObject, preq.Object) && !artifactStatus(preq)
}

// controllerSubresources are the object subresources a controller writes
// unjudged (see ownSubresourceWrite); the webhook's matchConditions list
// the same.
var controllerSubresources = map[string]bool{"status": true, "resize": true, "finalize": true}

// gitVerdict asks Git. Not-synced comes first: without a snapshot there is
// nothing to compare with. A verdict resting on a root synced longer ago
// than --max-staleness becomes stale (with --stale-action deny).
func (h *Handler) gitVerdict(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request, class Class, now time.Time) verdict {
	if snap == nil {
		return verdict{reason: reasonNotSynced}
	}
	var v verdict
	if class == Controller {
		v = h.judgeController(ctx, snap, preq)
	} else {
		res := h.Checker.Check(snap, preq)
		v = verdict{allowed: res.Allowed, reason: res.Reason, result: res}
	}
	if v.reason == reasonAgentToken || v.reason == reasonSecretUnknown || h.Staleness == nil || !h.Staleness.Deny {
		return v // a token refusal is harder than stale: no grant covers it
	}
	if age, root, stale := h.Staleness.stale(snap, v.result, now); stale {
		return verdict{reason: reasonStale, age: age, root: root, result: provenance.Result{Entry: v.result.Entry}}
	}
	return v
}

// ControllerChecker is the controller rule: a controller may set, change or
// remove what Git does not declare (provenance.FieldsDeclared), finalizers
// and ownerReferences included, but not add
// an element to a keyed list, such as a container to a declared
// Deployment: whoever holds any service account's token is a controller.
func ControllerChecker(ignores *provenance.Ignores) *provenance.Checker {
	return &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true, Ignores: ignores}
}

// judgeController holds a controller to what Git declares and nothing
// more: objects Git does not declare are its own (not-in-git and
// not-managed are allowed), and on a declared object only declared values
// count. A declared value changed or removed, a declared object deleted
// (managed-delete) and gitgate's own Namespace label (undeclared-change)
// stay refused.
func (h *Handler) judgeController(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request) verdict {
	c := h.checkerFor(Controller)
	if preq.Subresource == "ephemeralcontainers" {
		// The container may mount any volume of the Pod, its service
		// account token included: never one of an agent's or exempt Pod.
		if reason, err := h.agentIdentityUse(ctx, preq); err != nil {
			return verdict{reason: reason, err: err}
		}
	}
	res := c.Check(snap, preq)
	if res.Reason == provenance.ReasonNotInGit {
		if reason, err := h.agentIdentityUse(ctx, preq); err != nil {
			return verdict{reason: reason, err: err}
		}
		res.Allowed = true
	}
	return verdict{allowed: res.Allowed, reason: res.Reason, result: res}
}

// inGitVersion judges an UPDATE made in another version than Git's, of a
// kind whose versions the API server converts field by field (an HPA's
// autoscaling/v1 and v2, a CRD with a conversion webhook), as the same
// update in Git's version: the object read from the API server in Git's
// version, with what the request changes, where it changes only metadata
// the conversion copies unchanged (provenance.InStoredVersion). Anything
// else stays refused as version-mismatch (v), with the reason why.
func (h *Handler) inGitVersion(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request, class Class, now time.Time, v verdict) verdict {
	e := v.result.Entry
	if e == nil || h.Stored == nil || h.Conversions == nil {
		return v
	}
	conv := h.Conversions.Conversion(schema.GroupKind{Group: e.Key.Group, Kind: e.Key.Kind})
	if conv != provenance.ConversionBuiltin && conv != provenance.ConversionWebhook {
		v.result.Detail = "gitgate does not know how the API server converts this kind between its versions"
		return v
	}
	gv, err := schema.ParseGroupVersion(e.APIVersion)
	if err != nil {
		return v
	}
	// The read shares the decision's deadline, as the dry run does.
	ctx, cancel := context.WithDeadline(ctx, preq.Deadline)
	defer cancel()
	stored, err := h.Stored.Stored(ctx, gv.WithKind(e.Key.Kind), preq.Namespace, preq.Name)
	if err == nil {
		var inGit *provenance.Request
		if inGit, err = provenance.InStoredVersion(preq, stored, conv); err == nil {
			return h.gitVerdict(ctx, snap, inGit, class, now)
		}
	}
	v.result.Detail = err.Error()
	return v
}

func (h *Handler) decisionTimeout() time.Duration {
	if h.DecisionTimeout > 0 {
		return h.DecisionTimeout
	}
	return DefaultDecisionTimeout
}
