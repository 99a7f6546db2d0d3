package webhook

import (
	"errors"

	"github.com/gitgate/gitgate/provenance"
)

// Reasons the webhook gives itself, besides provenance's verdicts. They
// share provenance.Reason's type, so one vocabulary goes into audit
// records, audit annotations and the reason label of
// gitgate_admission_decisions_total; audit/record.go lists all of them.
const (
	// reasonExempt and reasonAgent: allowed by identity, no Git lookup.
	reasonExempt provenance.Reason = "exempt"
	reasonAgent  provenance.Reason = "agent"
	// reasonSkippedResource: the resource is on --skip-resource.
	reasonSkippedResource provenance.Reason = "skipped-resource"
	// reasonNotSynced: before the first revision loads, gitgate cannot tell
	// Git's objects from anything else. Allowing would let drift in exactly
	// while the webhook starts, so it refuses on purpose (fail closed).
	reasonNotSynced provenance.Reason = "not-synced"
	// reasonStale: Git has not been read for longer than --max-staleness
	// and the operator chose to fail closed (--stale-action deny).
	// Enforcing an old revision could admit what Git has since removed, or
	// refuse what Git now declares.
	reasonStale provenance.Reason = "stale"
	// reasonUnresolvedKind: see errUnresolvedKind.
	reasonUnresolvedKind provenance.Reason = "unresolved-kind"
	// reasonAgentToken: a token for a GitOps agent's or an exempt
	// identity's service account, asked for by anyone but an exempt
	// caller. Whoever holds the agent's token is the agent: it may do
	// anything, and the token outlives any break-glass grant, so no grant
	// covers it.
	reasonAgentToken provenance.Reason = "agent-token"
	// reasonControllerToken: a person asks for the token of a service
	// account judged as a controller, which would lift the person past
	// the rules for people.
	reasonControllerToken provenance.Reason = "controller-token"
	// reasonNoDefaults: a person (or a controller, see
	// createNeedsDefaults) creates a declared object, or updates it with a
	// field Git does not declare in a subtree Git's new revision adds
	// (checkAdded), and gitgate cannot learn what the API server makes of
	// Git's manifest (the dry run failed), so it cannot tell defaults from
	// additions: refused.
	reasonNoDefaults provenance.Reason = "defaults-unknown"
	// reasonTooLarge: the AdmissionReview is over --max-request-bytes;
	// refused before decoding (metrics only, nothing decoded to record).
	reasonTooLarge provenance.Reason = "request-too-large"
	// reasonBadRequest: the body is not a valid object; metrics only,
	// there is no object to record.
	reasonBadRequest provenance.Reason = "bad-request"
	// reasonConnect: a CONNECT (exec, attach, port-forward) judged by
	// --connect: a person's, refused (deny-people, in every mode; judge,
	// through the mode) or allowed (allow), or a controller's to a Pod of
	// no agent or exempt service account (allowed).
	reasonConnect provenance.Reason = "connect"
	// reasonPodUnknown: see errPodUnknown.
	reasonPodUnknown provenance.Reason = "pod-unknown"
	// reasonSecretUnknown: see errSecretUnknown.
	reasonSecretUnknown provenance.Reason = "secret-unknown"
	// reasonAnnotations: an annotator (--annotator) changed nothing but
	// annotations Git does not declare (allowed).
	reasonAnnotations provenance.Reason = "annotations-only"
	// reasonPlainSync: a people proxy (--people-proxy) started a plain
	// sync of an Argo CD Application, the Sync button, or ended one
	// (allowed).
	reasonPlainSync provenance.Reason = "plain-sync"
)

// Sentinel errors of the fail-closed paths that have no reason of their
// own in provenance: each says why gitgate refuses rather than allows.
var (
	// errUnresolvedKind: a subresource request (scale) names a resource
	// that discovery cannot map to a kind, so gitgate cannot tell which
	// declared object it changes. That is gitgate's blind spot, not the
	// client's fault: it is refused (fail closed) through the policy, so
	// the mode, break-glass and the audit trail apply as to any other
	// refusal (reasonUnresolvedKind).
	errUnresolvedKind = errors.New("cannot resolve the kind of the resource")
	// errGitOpsObject: an object that tells the GitOps agent what to apply
	// (a Flux Kustomization or source, an Argo CD Application) that Git
	// does not declare. Only the agent itself, and Git, may make one
	// (reasonAgentToken).
	errGitOpsObject = errors.New("Git does not declare this GitOps object")
	// errPodUnknown: a CONNECT (exec, attach, port-forward) to a Pod
	// gitgate could not read, so it cannot tell whether the Pod runs as
	// the GitOps agent, whose token a shell in it would read. Refused in
	// every mode and past every grant, as the agent's Pod would be
	// (reasonPodUnknown): a grant must not open a Pod nobody looked at.
	errPodUnknown = errors.New("cannot read the service account of Pod")
	// errSecretUnknown: an object's Pods reference a Secret by name, in a
	// namespace whose service accounts may hold a token above the
	// caller's, and gitgate could not read whose token the Secret holds
	// (RBAC, a slow API server). A token Secret mounted by name hands out
	// its service account's token whatever the Pod runs as, so gitgate
	// refuses (reasonSecretUnknown) in every mode and past every grant, as
	// it refuses a CONNECT to a Pod it cannot read.
	errSecretUnknown = errors.New("cannot read the Secret")
	// errNoPodReader: the Handler has no Pods to read them with.
	errNoPodReader = errors.New("gitgate has no Pod reader")
	// errNoSecretReader: the Handler has no Secrets to read them with.
	errNoSecretReader = errors.New("gitgate has no Secret reader")
	// errGitOpsPath: a person's or a controller's refused create of a
	// GitOps object, or change to what one fetches and applies (a
	// GitRepository's URL or ref, a Kustomization's path or service
	// account): the agent would apply it as itself, long after any grant
	// (reasonAgentToken, never covered; see agentpath.go).
	errGitOpsPath = errors.New("this change tells the GitOps agent what to apply")
)
