package audit

import (
	"time"

	"github.com/gitgate/gitgate/provenance"
)

// Decision is what gitgate did with a request that disagreed with Git.
type Decision string

// Decisions written to the audit trail.
const (
	// Denied: refused in enforce mode.
	Denied Decision = "denied"
	// Warned: allowed in warn mode, with an admission warning.
	Warned Decision = "warned"
	// Audited: allowed silently in audit mode.
	Audited Decision = "audited"
	// BreakGlass: allowed because a break-glass grant covers the caller.
	BreakGlass Decision = "break-glass"
)

// Record is one entry of the audit trail. Fields holds paths only: a
// record never carries a field's value, so Secret data cannot leak into it.
type Record struct {
	Time     time.Time `json:"time"`
	UID      string    `json:"uid"`
	Decision Decision  `json:"decision"`
	// Reason says why, in one vocabulary shared by audit records, the
	// API server's audit annotations and the reason label of
	// gitgate_admission_decisions_total. provenance's verdicts:
	//
	//   - matches-git: the object agrees with Git (allowed).
	//   - not-managed: Git declares nothing the request touches, e.g. a
	//     delete of an undeclared object (allowed).
	//   - subresource-not-enforced: a subresource other than scale (allowed).
	//   - terminating: a delete of an object already being deleted (allowed).
	//   - finishing-deletion: an update of an object being deleted that only
	//     removes finalizers (allowed).
	//   - not-in-git: Git does not declare the object (refused; allowed for
	//     a controller).
	//   - field-mismatch: a field Git declares holds another value, or is
	//     missing.
	//   - undeclared-change: with --fields strict, a field Git does not
	//     declare changed (and gitgate.dev/mode on a Namespace, always).
	//   - managed-delete: a delete of an object Git declares.
	//   - agent-mark: a write sets, changes or removes a GitOps agent's
	//     mark (Flux's owner labels, prune, reconcile, ssa; Argo CD's
	//     tracking-id, instance label, sync-options, compare-options) on
	//     an object Git declares to other than Git's value; no mode or
	//     grant covers it.
	//   - managed-namespace-delete: a delete of a Namespace holding objects
	//     Git declares.
	//   - version-mismatch: the request uses another apiVersion than Git,
	//     and gitgate cannot compare the two (a CRD converted by its
	//     webhook, a change beyond the metadata of a kind the API server
	//     converts field by field).
	//   - status-write: a person writes the status of an object Git
	//     declares, or of any Service, Ingress or Gateway (external-dns
	//     publishes their addresses).
	//   - namespace-finalize: a person writes the finalizers of a
	//     Namespace Git declares (namespaces/finalize).
	//   - ephemeral-container: a person adds an ephemeral container to a
	//     Pod (kubectl debug).
	//   - pod-resize: a person resizes a running Pod in place.
	//   - agent-only: a write or delete, by anyone but the agent, of an
	//     object whose values Git holds encrypted (a Secret a Flux
	//     Kustomization decrypts with SOPS), or that the agent makes and
	//     removes in the course of its work (a Helm hook or test, Helm's
	//     release record); no value is ever shown.
	//   - indeterminate: a create that sets, or an update that changes, a
	//     field of a HelmRelease's object whose value the render cannot
	//     reproduce (a random token, the time, a lookup), by anyone but the
	//     agent; fields names the paths, never a value.
	//   - managed-fields: a write of a declared object rewrites
	//     metadata.managedFields otherwise than the API server does, or
	//     has a person's field manager the agent does not take back own a
	//     field Git declares (refused in every mode, past every grant).
	//   - last-applied: a person's write records another manifest than
	//     Git's in kubectl's last-applied-configuration, or removes it.
	//   - deadline-exceeded: the object could not be compared within the
	//     decision deadline (refused, fail closed).
	//   - agent-made-delete: a delete of a GitOps object Git does not
	//     declare that a GitOps agent made (an ownerReference to a GitOps
	//     object, an agent's owner labels or tracking annotation, an
	//     agent's field manager): the agent would prune what it applied.
	//   - root-input: a create, data change or delete of an object a
	//     root's render reads (a Flux Kustomization's substituteFrom, a
	//     HelmRelease's valuesFrom ConfigMap or Secret) that does not leave its data as Git
	//     declares it.
	//   - needs-defaults: never in a record. Check's answer to an update
	//     that sets a field Git does not declare in a subtree Git's new
	//     revision adds; the webhook then decides it against the dry run
	//     of Git's manifest, or refuses it as defaults-unknown.
	//
	// The webhook's own (package webhook, reasons.go):
	//
	//   - exempt, agent: allowed by the caller's identity class, unjudged.
	//   - skipped-resource: allowed unjudged, the resource is on
	//     --skip-resource.
	//   - not-synced: no Git revision loaded yet (refused, fail closed).
	//   - stale: the last Git sync is older than --max-staleness with
	//     --stale-action deny (refused).
	//   - unresolved-kind: a scale request for a resource discovery cannot
	//     map to a kind (refused).
	//   - agent-token: a way to a GitOps agent's or an exempt identity
	//     taken by anyone but an exempt caller: a token, token Secret,
	//     Pod or workload of its service account (or whose Pods reference
	//     its token Secret by name), a GitOps object Git does not declare,
	//     or a change to what a declared one applies (refused whatever the
	//     mode; break-glass never covers it).
	//   - controller-token: a person asks for the token of a service
	//     account judged as a controller, or creates a Pod or token Secret
	//     of one, or a Pod that references its token Secret by name
	//     (refused whatever the mode; break-glass never covers it).
	//   - defaults-unknown: a person creates a declared object, or applies
	//     Git's new revision before the agent and sets, in what it adds, a
	//     field Git does not declare; and the dry run that tells defaults
	//     from additions failed (refused).
	//   - connect: an exec, attach or port-forward (CONNECT) judged by
	//     --connect: a person's, refused (deny-people in every mode, judge
	//     through the mode) or allowed (allow), or a controller's into a
	//     Pod of no agent or exempt service account (allowed). A CONNECT
	//     into an agent's or exempt Pod is agent-token, a person's into a
	//     controller's controller-token, as for tokens.
	//   - pod-unknown: a CONNECT to a Pod gitgate could not read, so it
	//     cannot tell whom it runs as (refused whatever the mode;
	//     break-glass never covers it).
	//   - secret-unknown: an object's Pods reference a Secret by name in a
	//     namespace of agents' (or, for a person's Pod, controllers')
	//     service accounts, and gitgate could not read whose token it holds
	//     (refused whatever the mode; break-glass never covers it).
	//   - annotations-only: an annotator (--annotator) changed nothing but
	//     annotations Git does not declare (allowed).
	//   - plain-sync: a people proxy (--people-proxy, argocd-server)
	//     started a plain sync of an Argo CD Application (allowed).
	//   - request-too-large: the AdmissionReview is over
	//     --max-request-bytes; refused before decoding (metrics only).
	//   - bad-request: the body is not a valid object (HTTP 400; metrics
	//     only, never in a record).
	//
	// Exempt, agent, skipped-resource and the allowed verdicts reach the
	// metric only: records are written for refusals, would-be refusals and
	// break-glass uses.
	Reason provenance.Reason `json:"reason"`
	// Class is how the caller was judged: controller or person (exempt
	// callers and agents are never recorded).
	Class       string   `json:"class"`
	Mode        string   `json:"mode"`
	User        string   `json:"user"`
	Groups      []string `json:"groups,omitempty"`
	Operation   string   `json:"operation"`
	Group       string   `json:"group"`
	Version     string   `json:"version"`
	Kind        string   `json:"kind"`
	Subresource string   `json:"subresource,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Name        string   `json:"name"`
	DryRun      bool     `json:"dryRun"`
	// Root is the root whose revision the verdict rests on: "path apps",
	// "Kustomization flux-system/apps". Empty when it rests on every root
	// (not in Git); Revision then lists their revisions.
	Root     string   `json:"root,omitempty"`
	Revision string   `json:"revision,omitempty"`
	File     string   `json:"file,omitempty"`
	Fields   []string `json:"fields,omitempty"`
	Grant    string   `json:"grant,omitempty"`

	// ObjectUID and APIVersion locate the object for its Event; they are
	// not part of the written record.
	ObjectUID  string `json:"-"`
	APIVersion string `json:"-"`
}
