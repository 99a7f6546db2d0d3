package webhook

import (
	"context"
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
func (h *Handler) applyPolicy(ctx context.Context, req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, start time.Time) Decision {
	r := h.rule(req, preq, snap, v, start)
	rec := newRecord(req, preq, snap, v, r, start)
	if h.Audit != nil {
		h.Audit.Record(rec)
	} else {
		logf.FromContext(ctx).Info("refused", "decision", r.decision, "reason", v.reason, "class", rec.Class, "user", rec.User, "key", preq.Key().String(), "operation", rec.Operation)
	}
	d := Decision{Allowed: passes(r.decision), Outcome: string(r.decision), Reason: v.reason, Class: v.who.class,
		AuditAnnotations: auditAnnotations(rec)}
	d.Message, d.Warnings = h.refusal(preq, snap, v, r)
	return d
}

// passes names the policy's decisions that let a refusal through; any
// other, one added later included, denies: gitgate fails closed.
func passes(d audit.Decision) bool {
	switch d {
	case audit.Warned, audit.Audited, audit.BreakGlass:
		return true
	}
	return false
}

// ruling is what the policy makes of a refusal.
type ruling struct {
	mode     Mode
	decision audit.Decision
	// use is the grant that allowed it (decision break-glass).
	use breakglass.Use
	// dryRunWarned: a server dry run answered with the denial as a
	// warning (DryRunWarn).
	dryRunWarned bool
	// modeLabel: the request changes gitgate's mode label, which no grant
	// covers.
	modeLabel bool
}

// rule applies break-glass and the mode to a refusal.
func (h *Handler) rule(req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, now time.Time) ruling {
	r := ruling{mode: h.modeFor(snap, preq.Namespace)}
	r.decision = decisionFor(r.mode)
	hard := v.reason == provenance.ReasonAgentMark || v.reason == reasonAgentToken || v.reason == reasonControllerToken || v.reason == reasonPodUnknown || v.reason == reasonSecretUnknown ||
		v.reason == provenance.ReasonManagedFields
	if hard || v.enforce {
		// A token outlives any grant and any roll-out mode, as an agent's
		// mark (reconcile disabled) outlives them: always denied. So does
		// a field's ownership, which decides what a later removal from Git
		// leaves behind, long after the grant or the roll-out.
		// (enforce: whatever the mode, but a grant may still cover it.)
		r.mode, r.decision = Enforce, audit.Denied
	}
	// A server dry run changes nothing: with DryRunWarn it is answered
	// with the denial as a warning, so kubectl diff and flux diff show
	// what Git would refuse before anything is committed. A hard refusal
	// too, of an object write: its dry run stores nothing, so it hands out
	// no identity (storesNothing).
	r.dryRunWarned = r.decision == audit.Denied && h.DryRunWarn && req.DryRun != nil && *req.DryRun &&
		(!hard || storesNothing(req, preq))
	if r.dryRunWarned {
		r.decision = audit.Warned
	}
	r.modeLabel = changesModeLabel(preq)
	if h.BreakGlass != nil && !r.modeLabel && !hard {
		if u, ok := h.BreakGlass.Match(req.UserInfo.Username, req.UserInfo.Groups, preq.Namespace, now); ok {
			r.decision, r.use = audit.BreakGlass, u
		}
	}
	return r
}

// storesNothing reports a request that a server dry run keeps from taking
// effect: a create or update of an object, its ephemeral containers
// included. Not a TokenRequest: the token endpoint ignores dryRun and
// mints the token anyway. Not a CONNECT: it has no dry run, and a shell
// in the agent's Pod reads its token whatever the request says.
func storesNothing(req *admission.Request, preq *provenance.Request) bool {
	if isTokenRequest(req) || preq.Operation != provenance.Create && preq.Operation != provenance.Update {
		return false
	}
	return preq.Subresource == "" || preq.Subresource == "ephemeralcontainers"
}

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
func newRecord(req *admission.Request, preq *provenance.Request, snap *provenance.Snapshot, v verdict, p ruling, now time.Time) *audit.Record {
	r := &audit.Record{
		Time:        now.UTC(),
		UID:         string(req.UID),
		Decision:    p.decision,
		Reason:      v.reason,
		Class:       string(v.who.class),
		Mode:        string(p.mode),
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
		Grant:       p.use.Grant,
		APIVersion:  apiVersion(preq),
		ObjectUID:   objectUID(preq),
	}
	if snap != nil {
		r.Root, r.Revision = recordRoot(snap, preq, v)
	}
	if v.result.Entry != nil {
		r.File = v.result.Entry.Origin()
	}
	if len(v.result.Diffs) > 0 {
		r.Fields = diffPaths(v.result)
	}
	return r
}

// readersOf lists, for a root-input refusal with no declared object, the
// roots that read the object.
func readersOf(snap *provenance.Snapshot, preq *provenance.Request, v verdict) []provenance.RootInput {
	if v.reason != provenance.ReasonRootInput || v.result.Entry != nil {
		return nil
	}
	return snap.Readers(preq.Key())
}

// maxRecordRevisions bounds the revisions a record lists when its verdict
// rests on every root (not in Git).
const maxRecordRevisions = 5

// recordRoot is the root and revision a verdict rests on: the declared
// object's root, the stale root, the first root whose render reads an
// input, or else the distinct revisions of every root consulted.
func recordRoot(snap *provenance.Snapshot, preq *provenance.Request, v verdict) (root, revision string) {
	st := snap.RootOf(v.result.Entry)
	if v.reason == reasonStale && v.root != nil {
		st = v.root
	}
	if in := readersOf(snap, preq, v); len(in) > 0 {
		if st = snap.State(in[0].Root); st == nil {
			return in[0].Root.String(), ""
		}
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

func diffPaths(res provenance.Result) []string {
	out := make([]string, len(res.Diffs))
	for i, d := range res.Diffs {
		out[i] = d.Path.String()
	}
	return out
}
