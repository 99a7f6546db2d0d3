package webhook

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// applyPolicy decides a request Git does not back. The order is:
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
// the grant overrode. Exempt callers, agents and skipped resources were
// allowed before any of this and are never recorded.
func (h *Handler) applyPolicy(ctx context.Context, req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, start time.Time) admission.Response {
	mode := h.modeFor(snap, preq.Namespace)
	decision := decisionFor(mode)
	hard := v.reason == reasonAgentToken || v.reason == reasonControllerToken
	if hard {
		// A token outlives any grant and any roll-out mode: always denied.
		mode, decision = Enforce, audit.Denied
	}
	// A server dry run changes nothing: with DryRunWarn it is answered
	// with the denial as a warning, so kubectl diff and flux diff show
	// what Git would refuse before anything is committed.
	dryRunWarned := decision == audit.Denied && !hard && h.DryRunWarn && req.DryRun != nil && *req.DryRun
	if dryRunWarned {
		decision = audit.Warned
	}
	var use breakglass.Use
	modeLabel := changesModeLabel(preq)
	if h.BreakGlass != nil && !modeLabel && !hard {
		if u, ok := h.BreakGlass.Match(req.UserInfo.Username, req.UserInfo.Groups, preq.Namespace, start); ok {
			decision, use = audit.BreakGlass, u
		}
	}
	rec := newRecord(req, preq, snap, v, mode, decision, use, start)
	if h.Audit != nil {
		h.Audit.Record(rec)
	} else {
		logf.FromContext(ctx).Info("refused", "decision", decision, "reason", v.reason, "class", rec.Class, "user", rec.User, "key", preq.Key().String(), "operation", rec.Operation)
	}
	observe(req, string(decision), v.reason, v.who.class, start)

	var resp admission.Response
	switch decision {
	case audit.BreakGlass:
		resp = admission.Allowed("").WithWarnings(breakGlassWarning(use))
	case audit.Warned:
		if dryRunWarned {
			resp = admission.Allowed("").WithWarnings(dryRunMessage(h.message(preq, snap, v)))
			break
		}
		resp = admission.Allowed("").WithWarnings(warnMessage(h.message(preq, snap, v)))
	case audit.Audited:
		resp = admission.Allowed("")
	default:
		msg := h.message(preq, snap, v)
		if modeLabel {
			msg = truncate(msg+" "+modeLabelNote, maxMessageLen)
		}
		resp = admission.Denied(msg)
	}
	resp.AuditAnnotations = auditAnnotations(rec)
	return resp
}

// modeLabelNote explains why a grant did not help.
const modeLabelNote = "Break-glass never covers the " + ModeLabel + " label: change it in Git."

// changesModeLabel reports whether a request sets, changes or removes
// gitgate's mode label on a Namespace. Break-glass never covers that: one
// grant could otherwise switch enforcement off for good, long after it
// expired.
func changesModeLabel(preq *provenance.Request) bool {
	if preq.Group != "" || preq.Kind != "Namespace" || preq.Subresource != "" || preq.Operation == provenance.Delete {
		return false
	}
	after, set := labelValue(preq.Object, ModeLabel)
	before, was := labelValue(preq.OldObject, ModeLabel)
	return set != was || after != before
}

func labelValue(obj map[string]any, key string) (string, bool) {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, ok := labels[key].(string)
	return v, ok
}

func (h *Handler) modeFor(snap *provenance.Snapshot, namespace string) Mode {
	if h.Modes == nil {
		return Enforce
	}
	return h.Modes.ModeFor(snap, namespace)
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
// message is a refusal as people read it: the reason code first, the
// explanation, and the team's --denial-hint last.
func (h *Handler) message(preq *provenance.Request, snap *provenance.Snapshot, v verdict) string {
	code := "[" + string(v.reason) + "] "
	hint := ""
	if h.DenialHint != "" {
		hint = " " + h.DenialHint
	}
	return code + truncate(h.explain(preq, snap, v), maxMessageLen-len(code)-len(hint)) + hint
}

// explain says why a request is refused and what to do instead.
func (h *Handler) explain(preq *provenance.Request, snap *provenance.Snapshot, v verdict) string {
	switch v.reason {
	case reasonNotSynced:
		return notSyncedMessage(preq, v.who.user, h.Repo)
	case reasonStale:
		return staleMessage(preq, v.who.user, h.Repo, v.root, v.age, h.Staleness.Max)
	case reasonNoDefaults:
		return fmt.Sprintf("gitgate denied %s of %s by %s: Git declares it, but gitgate could not learn what the API server makes of Git's manifest (%v), so it cannot tell defaults from additions. Let the GitOps agent create it, or retry.",
			preq.Operation, describeObject(preq), v.who.user, v.err)
	case reasonAgentToken, reasonControllerToken:
		return tokenMessage(preq, v.who, v.reason, v.err)
	case reasonUnresolvedKind:
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, so it cannot tell which object Git declares. The API server's discovery may not list it yet; retry, and check gitgate's logs if this persists.",
			preq.Operation, describeObject(preq), v.who.user, v.err)
	}
	return denialMessage(preq, v.who, snap, v.result, h.Repo)
}

// auditAnnotations go into the API server's own audit log, keyed there as
// validate.gitgate.dev/<key>.
func auditAnnotations(r *audit.Record) map[string]string {
	a := map[string]string{"decision": string(r.Decision), "reason": string(r.Reason), "class": r.Class}
	if r.Revision != "" {
		a["revision"] = r.Revision
	}
	if r.Root != "" {
		a["root"] = r.Root
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
		Class:       string(v.who.class),
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
		r.Root, r.Revision = recordRoot(snap, v)
	}
	if v.result.Entry != nil {
		r.File = v.result.Entry.Origin()
	}
	if len(v.result.Diffs) > 0 {
		r.Fields = diffPaths(v.result)
	}
	return r
}

// maxRecordRevisions bounds the revisions a record lists when its verdict
// rests on every root (not in Git).
const maxRecordRevisions = 5

// recordRoot is the root and revision a verdict rests on: the declared
// object's root, the stale root, or else the distinct revisions of every
// root consulted.
func recordRoot(snap *provenance.Snapshot, v verdict) (root, revision string) {
	st := snap.RootOf(v.result.Entry)
	if v.reason == reasonStale && v.root != nil {
		st = v.root
	}
	if st != nil {
		return st.Root.String(), st.Revision.String()
	}
	var revs []string
	seen := map[provenance.Revision]bool{}
	for _, st := range snap.Roots() {
		if !seen[st.Revision] && len(revs) < maxRecordRevisions {
			seen[st.Revision] = true
			revs = append(revs, st.Revision.String())
		}
	}
	return "", strings.Join(revs, ",")
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
