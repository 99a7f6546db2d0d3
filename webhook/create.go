package webhook

import (
	"context"
	"encoding/json"

	"github.com/gitgate/gitgate/provenance"
)

// createNeedsDefaults reports whether a create of a declared object by a
// caller of class is held to the API server's defaults for Git's manifest
// (checkCreate): a person's always; a controller's when the object is of
// a GitOps kind (the agent would apply whatever else its spec says, as
// itself: spec.patches, spec.postBuild, an Application's operation), or
// holds a field a controller may not set where Git is silent (a Pod
// template, a Service's type or externalIPs), which it could otherwise
// slip in before the agent creates the object.
func (h *Handler) createNeedsDefaults(class Class, preq *provenance.Request) bool {
	switch class {
	case Person:
		return true
	case Controller:
		return h.GitOpsKinds.Has(preq.Group, preq.Kind) || provenance.ProtectedIn(preq.Key(), preq.Object)
	}
	return false
}

// checkerFor is the Checker that judges class: Controllers for a
// controller when set, Checker otherwise.
func (h *Handler) checkerFor(class Class) Checker {
	if class == Controller && h.Controllers != nil {
		return h.Controllers
	}
	return h.Checker
}

// keepManagedFields puts the request's metadata.managedFields, which
// provenance.DecodeObject skips, back into a create of a kind whose fields
// the API server allocates: they say which fields the caller sent, before
// the API server allocated the rest, and CheckDefaults holds the caller to
// leaving those to it. Rare (a create of a declared Service or claim), so
// decoded apart from the hot path.
func keepManagedFields(raw []byte, preq *provenance.Request) {
	if provenance.AllocatesFields(preq.Key()) {
		restoreManagedFields(raw, preq.Object)
	}
}

// keepDeletedManagedFields puts the managedFields of the object a delete
// of a GitOps object removes back into its old object: an agent's field
// manager there says the agent made it (provenance.GitOpsKinds.MadeBy).
// Rare, so decoded apart from the hot path.
func (h *Handler) keepDeletedManagedFields(raw []byte, preq *provenance.Request) {
	if preq.Operation == provenance.Delete && h.GitOpsKinds.Has(preq.Group, preq.Kind) {
		restoreManagedFields(raw, preq.OldObject)
	}
}

// restoreManagedFields sets obj's metadata.managedFields from raw, the
// object's JSON, when it has any.
func restoreManagedFields(raw []byte, obj map[string]any) {
	var o struct {
		Metadata struct {
			ManagedFields []any `json:"managedFields"`
		} `json:"metadata"`
	}
	meta, _ := obj["metadata"].(map[string]any)
	if json.Unmarshal(raw, &o) != nil || len(o.Metadata.ManagedFields) == 0 || meta == nil {
		return
	}
	meta["managedFields"] = o.Metadata.ManagedFields
}

// defaultsOf is e's manifest as the API server creates it (a dry run, of
// the revision of e's root), from h.Defaults, which caches it by content.
func (h *Handler) defaultsOf(ctx context.Context, snap *provenance.Snapshot, e *provenance.Entry) (map[string]any, error) {
	var rev provenance.Revision
	if st := snap.RootOf(e); st != nil {
		rev = st.Revision
	}
	return h.Defaults.Defaulted(ctx, e, rev)
}

// checkCreate holds a CREATE of a declared object, which matched what Git
// declares, to what the API server makes of Git's manifest: a person (or,
// where createNeedsDefaults says so, a controller) creating the object
// before the GitOps agent may not add what Git leaves out. Without the
// defaults gitgate cannot tell, and refuses (fail closed: a cluster-scoped
// kind or a missing sandbox refuses too). An object several roots declare
// is held to each declaration.
func (h *Handler) checkCreate(ctx context.Context, snap *provenance.Snapshot, preq *provenance.Request, c Checker, v verdict) verdict {
	dc, ok := c.(DefaultsChecker)
	if h.Defaults == nil || !ok {
		return v
	}
	// The dry run shares the decision's deadline: a slow API server makes
	// it fail closed, not hold the admission request.
	ctx, cancel := context.WithDeadline(ctx, preq.Deadline)
	defer cancel()
	for _, e := range snap.Declarations(v.result.Entry.Key) {
		defaulted, err := h.defaultsOf(ctx, snap, e)
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
