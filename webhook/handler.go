package webhook

import (
	"context"
	"errors"
	"net/http"
	"time"

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

// Handler is gitgate's admission.Handler. Decide gives its decision on a
// request as a plain value; Handle answers the API server with it.
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
	// GitOpsKinds are the kinds of objects that tell a GitOps agent what to
	// apply (--gitops-kind); nil is provenance.DefaultGitOpsKinds.
	GitOpsKinds provenance.GitOpsKinds
	// DryRunWarn allows a server dry run that would be denied, with the
	// denial as a warning (--dry-run-action warn), a hard refusal of an
	// object write included (it stores nothing). TokenRequests and
	// CONNECTs stay denied: neither honours a dry run.
	DryRunWarn bool
	// Defaults, when set, holds a person's CREATE of a declared object,
	// and a controller's of a GitOps kind or with protected fields, to the
	// API server's defaults for Git's manifest (see checkCreate), and so an
	// UPDATE that adds a subtree below Git's declared fields (checkAdded).
	// Nil allows such creates on Git's verdict alone, and refuses such
	// updates.
	Defaults Defaulter
	// Pods names the service account a Pod runs as, for CONNECTs (exec,
	// attach, port-forward); nil refuses them all (fail closed).
	Pods Pods
	// Secrets says whose token a Secret holds, for Pods that reference
	// Secrets by name in a namespace of agents' (or, for a person's Pod,
	// controllers') service accounts; nil refuses those (fail closed).
	Secrets Secrets
	// Connect is what people's CONNECTs to other Pods get (--connect);
	// "" is DefaultConnect.
	Connect Connect
	// Conversions tells how the API server converts a kind between its
	// versions (the Checkers hold the same), and Stored reads an object in
	// Git's version: together they judge an update made in another
	// version than Git's (inGitVersion). Either nil refuses it
	// (version-mismatch).
	Conversions provenance.Conversions
	Stored      StoredReader
}

// StoredReader reads an object as the API server gives it in one version
// of its kind (decoded as admission objects are); *convert.Stored
// implements it.
type StoredReader interface {
	Stored(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (map[string]any, error)
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

// AddedChecker decides, against one declaration and the defaults for its
// manifest, an update that Check left to them (ReasonNeedsDefaults: it adds
// a subtree below Git's declared fields); *provenance.Checker implements
// it. A Checker without it refuses such updates.
type AddedChecker interface {
	CheckAdded(snap *provenance.Snapshot, req *provenance.Request, e *provenance.Entry, defaulted map[string]any) provenance.Result
}

// DefaultDecisionTimeout leaves the API server's 5 s webhook timeout room
// for decoding and the answer's way back.
const DefaultDecisionTimeout = 2 * time.Second

var (
	_ admission.Handler = &Handler{}
	_ DefaultsChecker   = (*provenance.Checker)(nil)
	_ AddedChecker      = (*provenance.Checker)(nil)
)

// Decision is gitgate's answer to one admission request as a plain value:
// what the admission response, the metrics and `gitgate check` need,
// decided once. Its response method makes the admission response; nothing
// else in gitgate makes one.
type Decision struct {
	// Allowed lets the request through: Git backs it, no look was needed
	// (Skipped, an exempt caller, an agent), or the policy let a refusal
	// pass (warned, audited, break-glass).
	Allowed bool
	// Outcome is the decision label of gitgate_admission_decisions_total:
	// "allowed", "error" (the request could not be read), or what the
	// policy made of a refusal, as the audit record has it (audit.Decision:
	// denied, warned, audited, break-glass).
	Outcome string
	// Reason is why: the caller's class (exempt, agent), skipped-resource,
	// Git's verdict (matches-git, not-in-git, field-mismatch, …) or
	// gitgate's own (not-synced, stale, agent-token, bad-request, …). It is
	// the reason label of the metric, and of the audit record of a refusal.
	Reason provenance.Reason
	// Class is the caller's identity class: the class label of the metric.
	// A request is classed before anything else, so every Decision has one.
	Class Class
	// Skipped: the resource is on --skip-resource, allowed before anything
	// else is looked at (Reason skipped-resource).
	Skipped bool
	// Code is the HTTP status of an answer to a request gitgate could not
	// read: 400 (the body is not a valid object), 413 (over
	// --max-request-bytes). 0 for a decision, whose answer says 200 when
	// allowed and 403 when denied.
	Code int32
	// Message is the refusal as people read it ("[reason] gitgate denied
	// …", or why a request could not be read): the answer's message when
	// it is not allowed; when warned, the denial the warning rewrites. ""
	// when nothing was refused, and for a refusal audited or passed by
	// break-glass, whose text nobody reads.
	Message string
	// Warnings go back with the answer (kubectl prints "Warning: …"): the
	// would-be denial of warn mode or of a dry run, a break-glass use.
	Warnings []string
	// AuditAnnotations go into the API server's audit log, keyed there as
	// validate.gitgate.dev/<key>: set exactly when gitgate wrote an audit
	// record (every refusal, whatever the policy made of it), else nil.
	AuditAnnotations map[string]string
}

// Values of Decision.Outcome besides the policy's audit.Decision.
const (
	outcomeAllowed = "allowed"
	outcomeError   = "error"
)

// Handle answers one admission request: its Decision, observed once in
// the metrics and turned once into the response.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := h.now()
	d := h.decide(ctx, &req, start)
	observe(&req, &d, start)
	return d.response()
}

// Decide decides one admission request without answering it, for callers
// that want the verdict rather than a response (gitgate check). It
// observes no metric, but a refusal is recorded (Audit, or the log) as
// under Handle.
func (h *Handler) Decide(ctx context.Context, req admission.Request) Decision {
	return h.decide(ctx, &req, h.now())
}

// decide walks one request through the stages of a decision, each a file,
// in one direction: each hands its result on, and none calls back into an
// earlier stage (judge only asks identity.go's Identities about the service
// account a token or a Pod would carry):
//
//	classify  identity.go  who asks: a skipped resource, an exempt caller or
//	                       an agent is allowed here, with no Git lookup
//	judge     judge.go     decode the objects, then Git's verdict: tokens,
//	                       the controller rule and run-as, staleness, a
//	                       person's create held to the API server's defaults
//	policy    policy.go    a request Git does not back: break-glass, the
//	                       mode, the audit record
//	message   message.go   the words of a refusal
//
// Handle then observes the Decision (metrics.go) and answers it.
func (h *Handler) decide(ctx context.Context, req *admission.Request, start time.Time) Decision {
	who := h.classify(req)
	if reason := h.unjudged(req, who.class); reason != "" {
		return Decision{Allowed: true, Outcome: outcomeAllowed, Reason: reason, Class: who.class, Skipped: reason == reasonSkippedResource}
	}
	preq, snap, v, err := h.judge(ctx, req, who, start)
	switch {
	case err != nil:
		return Decision{Outcome: outcomeError, Reason: reasonBadRequest, Class: who.class, Code: http.StatusBadRequest, Message: err.Error()}
	case v.allowed:
		// v.who: a scoped agent is the agent for what its scope covers.
		return Decision{Allowed: true, Outcome: outcomeAllowed, Reason: v.reason, Class: v.who.class}
	}
	return h.applyPolicy(ctx, req, preq, snap, v, start)
}

// response is d as controller-runtime answers: the one place gitgate makes
// an admission response.
func (d *Decision) response() admission.Response {
	var resp admission.Response
	switch {
	case d.Code != 0:
		resp = admission.Errored(d.Code, errors.New(d.Message))
	case d.Allowed:
		resp = admission.Allowed("")
	default:
		resp = admission.Denied(d.Message)
	}
	resp = resp.WithWarnings(d.Warnings...)
	resp.AuditAnnotations = d.AuditAnnotations
	return resp
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
