package webhook

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// BreakGlass finds a grant covering the caller; *breakglass.Store
// implements it. It must check expiry against now, not at load time.
type BreakGlass interface {
	Match(user string, groups []string, namespace string, now time.Time) (breakglass.Use, bool)
}

// Auditor takes audit records; it must never block. *audit.Auditor
// implements it.
type Auditor interface {
	Record(*audit.Record)
}

// refuse decides a request Git does not back. The order is:
//
//  1. break-glass: a grant covering the caller allows it, whatever the
//     mode and whatever the reason (not-synced and stale included: an
//     emergency is when Git may be unreachable). It is never silent: the
//     caller gets a warning and an audit record is written.
//  2. the mode of the object's namespace: enforce denies, warn allows with
//     a warning, audit allows silently.
//
// Grants are consulted only here, after the Git check, so a request that
// matches Git is not counted as a use, and every record names the reason
// the grant overrode. Identity (agents, exempt controllers) was decided
// before any of this and is never recorded.
func (h *Handler) refuse(ctx context.Context, req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, start time.Time) admission.Response {
	mode := h.modeFor(preq.Namespace)
	decision := decisionFor(mode)
	var use breakglass.Use
	if h.BreakGlass != nil {
		if u, ok := h.BreakGlass.Match(req.UserInfo.Username, req.UserInfo.Groups, preq.Namespace, start); ok {
			decision, use = audit.BreakGlass, u
		}
	}
	rec := newRecord(req, preq, snap, v, mode, decision, use, start)
	if h.Audit != nil {
		h.Audit.Record(rec)
	} else {
		logf.FromContext(ctx).Info("refused", "decision", decision, "reason", v.reason, "user", rec.User, "key", preq.Key().String(), "operation", rec.Operation)
	}
	observe(rec.Operation, string(decision), v.reason, start)

	var resp admission.Response
	switch decision {
	case audit.BreakGlass:
		resp = admission.Allowed("").WithWarnings(breakGlassWarning(use))
	case audit.Warned:
		resp = admission.Allowed("").WithWarnings(warnMessage(h.message(preq, req.UserInfo, snap, v)))
	case audit.Audited:
		resp = admission.Allowed("")
	default:
		resp = admission.Denied(h.message(preq, req.UserInfo, snap, v))
	}
	resp.AuditAnnotations = auditAnnotations(rec)
	return resp
}

func (h *Handler) modeFor(namespace string) Mode {
	if h.Modes == nil {
		return Enforce
	}
	return h.Modes.ModeFor(namespace)
}

func decisionFor(m Mode) audit.Decision {
	switch m {
	case Warn:
		return audit.Warned
	case Audit:
		return audit.Audited
	default:
		return audit.Denied
	}
}

// message is the denial text; warn mode shows the same text as a warning.
func (h *Handler) message(preq *provenance.Request, u authenticationv1.UserInfo, snap *provenance.Snapshot, v verdict) string {
	switch v.reason {
	case reasonNotSynced:
		return notSyncedMessage(preq, u.Username, h.Repo)
	case reasonStale:
		return staleMessage(preq, u.Username, h.Repo, v.age, h.Staleness.Max)
	case reasonUnresolvedKind:
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, so it cannot tell which object Git declares. The API server's discovery may not list it yet; retry, and check gitgate's logs if this persists.",
			preq.Operation, describeObject(preq), u.Username, v.err)
	}
	return denialMessage(preq, u.Username, snap, v.result, h.Repo)
}

// auditAnnotations go into the API server's own audit log, keyed there as
// validate.gitgate.dev/<key>.
func auditAnnotations(r *audit.Record) map[string]string {
	a := map[string]string{"decision": string(r.Decision), "reason": r.Reason}
	if r.Revision != "" {
		a["revision"] = r.Revision
	}
	if r.Grant != "" {
		a["grant"] = r.Grant
	}
	return a
}

// newRecord builds the audit record. It holds field paths, never values.
func newRecord(req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, mode Mode, d audit.Decision, use breakglass.Use, now time.Time) *audit.Record {
	r := &audit.Record{
		Time:        now.UTC(),
		UID:         string(req.UID),
		Decision:    d,
		Reason:      v.reason,
		Mode:        string(mode),
		User:        req.UserInfo.Username,
		Groups:      req.UserInfo.Groups,
		Operation:   string(req.Operation),
		Group:       preq.Group,
		Version:     preq.Version,
		Kind:        preq.Kind,
		Subresource: preq.Subresource,
		Namespace:   preq.Namespace,
		Name:        preq.Name,
		DryRun:      req.DryRun != nil && *req.DryRun,
		Grant:       use.Grant,
		APIVersion:  apiVersion(preq),
		ObjectUID:   objectUID(preq),
	}
	if snap != nil {
		r.Revision = snap.Revision.String()
	}
	if v.result.Entry != nil {
		r.File = v.result.Entry.Path
	}
	if len(v.result.Diffs) > 0 {
		r.Fields = diffPaths(v.result)
	}
	return r
}

func objectUID(preq *provenance.Request) string {
	for _, obj := range []map[string]any{preq.OldObject, preq.Object} {
		meta, _ := obj["metadata"].(map[string]any)
		if uid, _ := meta["uid"].(string); uid != "" {
			return uid
		}
	}
	return ""
}
