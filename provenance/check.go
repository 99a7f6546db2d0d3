package provenance

import (
	"reflect"
	"slices"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Operation is the admission operation being checked.
type Operation string

// Operations gitgate checks.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
	Delete Operation = "DELETE"
)

// Request is what Check needs of an admission request. For the scale
// subresource, Group and Kind name the scaled object (a Deployment), and
// Object is the autoscaling/v1 Scale.
type Request struct {
	Operation   Operation
	Group       string
	Version     string
	Kind        string
	Namespace   string
	Name        string
	Subresource string
	// Object is the object after the change; OldObject before it (updates
	// and deletes).
	Object, OldObject map[string]any
	// Deadline, when set, bounds the comparison: an object too large to
	// compare by then is refused (ReasonDeadline).
	Deadline time.Time
	// ObjectRaw and OldObjectRaw are object and oldObject as JSON, for
	// what decoding skips: metadata.managedFields, read only when a
	// declared object is written (ownershipChange). Options are the
	// request's options as JSON (the field manager it names). A request
	// without ObjectRaw is no write (the drift scan's look at a live
	// object): its ownership and last-applied record are not judged.
	ObjectRaw, OldObjectRaw, Options []byte
}

// Key is the object the request is about.
func (r *Request) Key() Key {
	return Key{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// Reason is a stable, low-cardinality code for a verdict, used in audit
// records and metrics.
type Reason string

// Reasons for a verdict.
const (
	ReasonMatchesGit      Reason = "matches-git"
	ReasonNotManaged      Reason = "not-managed"
	ReasonSubresource     Reason = "subresource-not-enforced"
	ReasonTerminating     Reason = "terminating"
	ReasonNotInGit        Reason = "not-in-git"
	ReasonFieldMismatch   Reason = "field-mismatch"
	ReasonUndeclared      Reason = "undeclared-change"
	ReasonManagedDelete   Reason = "managed-delete"
	ReasonManagedNSDelete Reason = "managed-namespace-delete"
	ReasonVersionMismatch Reason = "version-mismatch"
	// ReasonFinishingDeletion: an update of a terminating object that only
	// removes finalizers. Denying it would leave the object terminating
	// forever, for a prune by the GitOps agent as for any other delete.
	ReasonFinishingDeletion Reason = "finishing-deletion"
	// ReasonStatusWrite: a person writes the status of an object.
	ReasonStatusWrite Reason = "status-write"
	// ReasonNamespaceFinalize: a person writes the finalizers of a
	// Namespace Git declares (namespaces/finalize).
	ReasonNamespaceFinalize Reason = "namespace-finalize"
	// ReasonEphemeralContainer: a person adds an ephemeral container to a
	// Pod (kubectl debug); break-glass is the way in.
	ReasonEphemeralContainer Reason = "ephemeral-container"
	// ReasonPodResize: a person resizes a running Pod's containers in
	// place.
	ReasonPodResize Reason = "pod-resize"
	// ReasonDeadline: the object could not be compared within the
	// request's deadline. gitgate cannot say it matches Git, so it refuses
	// (fail closed); only a hostile object comes near it.
	ReasonDeadline Reason = "deadline-exceeded"
	// ReasonAgentOnly: a write or delete of an object only the agent may
	// write (Entry.AgentOnly: a Secret whose values the agent decrypts).
	ReasonAgentOnly Reason = "agent-only"
	// ReasonManagedFields: a write of a declared object changes
	// metadata.managedFields otherwise than the API server does for the
	// request's own field manager (ownershipChange), or has a person's
	// field manager the agent does not take back own a field Git declares:
	// which fields a later removal from Git leaves behind, or whether the
	// agent's apply conflicts.
	ReasonManagedFields Reason = "managed-fields"
	// ReasonLastApplied: a person's write of a declared object records in
	// kubectl's last-applied-configuration another manifest than Git's, or
	// removes it (lastAppliedChange): what the next client-side apply
	// removes from the object.
	ReasonLastApplied Reason = "last-applied"
	// ReasonAgentMadeDelete: a delete of a GitOps object Git does not
	// declare that a GitOps agent made (GitOpsKinds.MadeBy): an Argo CD
	// Application of an ApplicationSet, a Kustomization a parent
	// Kustomization applied. The agent then prunes what it applied, which
	// Git declares: judged as a delete of that.
	ReasonAgentMadeDelete Reason = "agent-made-delete"
	// ReasonRootInput: a create, data change or delete of an object a
	// root's render reads (Snapshot.InputOf: a substituteFrom ConfigMap or
	// Secret) that does not leave it as Git declares it: the agent would
	// render and apply something else than Git says.
	ReasonRootInput Reason = "root-input"
	// ReasonNeedsDefaults: an update adds a subtree the stored object
	// lacks below fields Git declares (Git's new revision, before the
	// agent applies it) and sets there a field Git does not declare.
	// Only the API server's defaults for Git's manifest tell a default
	// from an addition: the caller learns them (a dry run) and decides
	// with CheckAdded. Never a final verdict: a caller that cannot learn
	// them refuses.
	ReasonNeedsDefaults Reason = "needs-defaults"
	// ReasonAgentMark: a write of a declared object sets, changes or
	// removes a mark its GitOps agent reads (marks.go: Flux's owner labels
	// and opt-outs, Argo CD's tracking and sync options) to other than what
	// Git declares. It outlives any grant and any roll-out mode: the agent
	// would stop reverting, prune or hand the object to another root.
	ReasonAgentMark Reason = "agent-mark"
)

// Result is the verdict on one request.
type Result struct {
	Allowed bool
	Reason  Reason
	// Entry is the declared object, when Git declares one.
	Entry *Entry
	// Diffs lists where the request disagrees with Git.
	Diffs []compare.Diff
	// Detail says why, where a reason needs more than its diffs (which
	// version conversion failed, which field manager's entry changed):
	// field paths and names, never values.
	Detail string
}

// FieldMode chooses which fields a person may not change.
type FieldMode string

const (
	// FieldsStrict protects every field: a change outside what Git declares
	// is denied too. The default.
	FieldsStrict FieldMode = "strict"
	// FieldsDeclared protects only the fields Git declares, like Config
	// Sync's webhook and Flux's drift detection.
	FieldsDeclared FieldMode = "declared"
)

// Checker decides requests against a Snapshot.
type Checker struct {
	// Fields is the field mode: strict unless set to FieldsDeclared.
	Fields FieldMode
	// StrictLists, in declared mode, still denies elements of keyed lists
	// that Git does not declare (a container, a volume, an env var): the
	// rule for controllers, which may set undeclared fields but must not
	// smuggle a container into a declared Deployment. Strict mode always
	// does.
	StrictLists bool
	// Controller judges a controller rather than a person: ownerReferences
	// and finalizers Git does not declare are free for it (operators own
	// objects and hold their deletion), while a person may not set them in
	// either field mode.
	Controller bool
	// SyncAgent judges a write of a root's sync agent (Composer.SetSyncAgents)
	// that only the agent may make: the content of an object the agent
	// makes and removes (Entry.Transient: a hook) is compared with Git's
	// like any other, where everyone else is refused it unseen.
	SyncAgent bool
	Ignores   *Ignores
	// GitOps are the kinds whose whole spec is held to Git (GitOpsKinds;
	// nil is DefaultGitOpsKinds).
	GitOps GitOpsKinds
	// Decoded, if set, keeps the declared manifests decisions read last
	// decoded; nil decodes Git's side for every decision.
	Decoded *DecodedCache
	// Conversions tells how the API server converts a kind between its
	// versions; nil knows none, so a request in another version than
	// Git's is refused (version-mismatch).
	Conversions Conversions
}

// Check decides one request. It never blocks and never mutates snap or req.
// An object several roots declare (a conflict) must agree with every
// declaration: the first that refuses is the verdict, naming its root;
// otherwise the owner's. So which root owns it never opens a way in.
func (c *Checker) Check(snap *Snapshot, req *Request) Result {
	decls := snap.Declarations(req.Key())
	if len(decls) == 0 {
		return c.check(snap, req, nil, nil)
	}
	var owner Result
	for i, e := range decls {
		res := c.check(snap, req, e, nil)
		if !res.Allowed {
			return res
		}
		if i == 0 {
			owner = res
		}
	}
	return owner
}

// CheckAdded decides an update that Check left to the API server's
// defaults (ReasonNeedsDefaults) against entry, one declaration of its
// object, given defaulted: entry's manifest as the API server creates it
// (a dry run), decoded as requests are. What the update adds below Git's
// declared fields may hold Git's values and defaulted's at the same place,
// nothing else. With defaulted nil it is Check for that one declaration.
func (c *Checker) CheckAdded(snap *Snapshot, req *Request, entry *Entry, defaulted map[string]any) Result {
	return c.check(snap, req, entry, defaulted)
}

// check decides one request against entry, one declaration of its object
// (nil when Git declares none), with defaulted, the API server's defaults
// for entry's manifest, when known.
func (c *Checker) check(snap *Snapshot, req *Request, entry *Entry, defaulted map[string]any) Result {
	switch {
	case req.Subresource == "":
	case req.Subresource == "scale":
		return c.checkScale(req, entry)
	case ObjectSubresources[req.Subresource] && req.Operation == Update && MetadataChanged(req.OldObject, req.Object):
		// Built-in status strategies reset the spec, not the metadata: a
		// label or ownerReference written through status is a change of
		// the object, and judged as one.
		whole := *req
		whole.Subresource = ""
		return c.check(snap, &whole, entry, defaulted)
	default:
		return c.checkSubresource(req, entry)
	}
	if res, ok := c.claimed(snap, req, entry); ok {
		return res
	}
	if entry != nil && entry.AgentOnly && !finishesDeletion(req) && !(c.SyncAgent && entry.Transient && req.Operation != Delete) {
		// Git holds its values encrypted: nothing a person sends can be
		// shown to agree with them, so only the agent writes it.
		return Result{Reason: ReasonAgentOnly, Entry: entry}
	}
	if entry == nil && req.Operation == Update && onlyRemovesFinalizers(req.OldObject, req.Object) {
		return Result{Allowed: true, Reason: ReasonFinishingDeletion}
	}
	var res Result
	switch req.Operation {
	case Delete:
		res = c.checkDelete(snap, req, entry)
	case Create, Update:
		res = c.checkWrite(req, entry, defaulted, len(snap.InputOf(req.Key())) > 0)
	default:
		// CONNECT and anything newer carry no object state.
		return Result{Allowed: true, Reason: ReasonNotManaged}
	}
	return c.heldAsInput(snap, req, entry, res)
}

// specPath is the whole spec of an object.
var specPath = [][]string{{"spec"}}

// projectPath is an Argo CD AppProject's spec and labels: the labels pick
// the global projects (argocd-cm globalProjects) whose settings it takes
// on, the accounts Argo CD syncs as among them.
var projectPath = [][]string{{"spec"}, {"metadata", "labels"}}

func (c *Checker) strictUnder(k Key) [][]string {
	switch {
	case k.Group == "argoproj.io" && k.Kind == "AppProject" && c.GitOps.Has(k.Group, k.Kind):
		return projectPath
	case c.GitOps.Has(k.Group, k.Kind):
		return specPath
	case c.Controller:
		return controllerProtected(k)
	}
	return nil
}

// checkWrite decides a CREATE or UPDATE of the object itself; input: a
// root's render reads it.
func (c *Checker) checkWrite(req *Request, entry *Entry, defaulted map[string]any, input bool) Result {
	if entry == nil {
		return Result{Reason: ReasonNotInGit}
	}
	declared, ok := c.declaredFor(req, entry)
	if !ok {
		return Result{Reason: ReasonVersionMismatch, Entry: entry}
	}
	var old map[string]any
	if req.Operation == Update {
		old = req.OldObject
		if onlyRemovesFinalizers(old, req.Object) {
			return Result{Allowed: true, Reason: ReasonFinishingDeletion, Entry: entry}
		}
	}
	if entry.WholeIndeterminate() {
		return c.checkWholeIndeterminate(req, entry)
	}
	if d := c.ownershipChange(declared, req); d != "" {
		// Before any field: which fields a later removal from Git leaves
		// behind is no value the agent reverts, and no grant covers it.
		return Result{Reason: ReasonManagedFields, Entry: entry, Detail: d}
	}
	strict := c.Fields != FieldsDeclared
	// A root's input, or a GitOps object, keeps every field from a
	// root's controller rules: what it holds changes what a root applies.
	kept := c.Controller && (entry.controllerIgnore != nil || len(entry.controllerManagers) > 0) &&
		(input || c.GitOps.Has(entry.Key.Group, entry.Key.Kind))
	ignore := c.ignoreFor(entry, kept)
	diffs := compare.Compare(declared, old, req.Object, entry.Schema, compare.Options{
		Strict:      strict,
		StrictLists: strict || c.StrictLists,
		Ignore:      ignore,
		Deadline:    req.Deadline,
		StrictUnder: c.strictUnder(entry.Key),
		Defaults:    defaulted,
	})
	diffs = c.managerFreed(entry, req, kept, diffs)
	if req.ObjectRaw != nil {
		// An agent's marks Git leaves out are the agent's own: a write
		// keeps them as stored, while the drift scan (no write) reads
		// them as the agent set them.
		diffs = withMarks(diffs, declared, old, req.Object)
	}
	diffs = append(diffs, protectedLabelDiffs(entry.Key, declared, strict, old, req.Object)...)
	diffs = append(diffs, freed(lifecycleDiffs(entry.Key, declared, strict, c.Controller, old, req.Object), ignore)...)
	return c.pastMatch(entry, declared, req, old, resultOf(entry, diffs))
}

// pastMatch holds a write that matched Git to what the comparison leaves
// out: the indeterminate fields stay as the agent wrote them, and a
// person's kubectl record of the last apply stays Git's (a controller may
// set what Git does not declare).
func (c *Checker) pastMatch(entry *Entry, declared map[string]any, req *Request, old map[string]any, res Result) Result {
	if !res.Allowed {
		return res
	}
	if len(entry.Indeterminate) > 0 {
		if d := indeterminateDiffs(entry, old, req.Object); len(d) > 0 {
			return Result{Reason: ReasonIndeterminate, Entry: entry, Diffs: d}
		}
	}
	if !c.Controller {
		if d := c.lastAppliedChange(entry, declared, req); d != "" {
			return Result{Reason: ReasonLastApplied, Entry: entry, Detail: d}
		}
	}
	return res
}

// declaredFor is Git's manifest of entry in the request's version. Fields
// of two versions compare only in one: Git's manifest in the request's
// version where only apiVersion tells them apart, else nothing (the
// webhook may still judge the same update in Git's version,
// InStoredVersion); ok is false then: deny rather than guess.
func (c *Checker) declaredFor(req *Request, entry *Entry) (map[string]any, bool) {
	declared := c.Decoded.declared(entry)
	if v := apiVersionOf(req.Object); v != "" && v != entry.APIVersion {
		return c.inVersion(declared, entry, v)
	}
	return declared, true
}

// CheckDefaults decides a CREATE of a declared object that matched Git,
// given defaulted, Git's manifest as the API server creates it (a dry run):
// every field of the request must hold what the API server gives Git's
// manifest. A field Git does not declare that differs from that default
// (hostNetwork, a command, runAsUser 0) is the creator's addition, which the
// GitOps agent's apply would never remove.
func (c *Checker) CheckDefaults(entry *Entry, defaulted, obj map[string]any) Result {
	var ig *compare.Ignore
	if c.Ignores != nil {
		ig = c.Ignores.everywhere.For(entry.Key)
	}
	ig = compare.Merge(ig, entry.ignore)
	if v := apiVersionOf(obj); v != apiVersionOf(defaulted) {
		// The dry run creates Git's manifest in Git's version; where
		// versions differ in apiVersion alone, that is the default in the
		// request's too (its own defaults of that version aside, which
		// then differ and refuse: fail closed).
		var ok bool
		if defaulted, ok = c.inVersion(defaulted, entry, v); !ok {
			return Result{Reason: ReasonVersionMismatch, Entry: entry}
		}
	}
	allocated := allocatedDiffs(entry.Key, c.Decoded.declared(entry), defaulted, obj)
	if c.Controller {
		// A controller's fields are its own but for what it may not set.
		obj, defaulted = c.createHeld(entry.Key, obj), c.createHeld(entry.Key, defaulted)
	}
	// The request is the reference here: whatever it sets, the default must
	// hold too.
	diffs := compare.Compare(obj, nil, defaulted, entry.Schema, compare.Options{Ignore: ig})
	for i := range diffs {
		d := &diffs[i]
		d.Kind, d.Git, d.Request = compare.Undeclared, nil, d.Git
	}
	diffs = append(diffs, allocated...)
	return resultOf(entry, diffs)
}

func (c *Checker) checkDelete(snap *Snapshot, req *Request, entry *Entry) Result {
	if isTerminating(req.OldObject) {
		// Deletion already began (Config Sync allows this too); denying the
		// follow-up DELETE only leaves the object stuck.
		return Result{Allowed: true, Reason: ReasonTerminating, Entry: entry}
	}
	if entry != nil {
		return Result{Reason: ReasonManagedDelete, Entry: entry}
	}
	if _, made := c.GitOps.MadeBy(req.Group, req.Kind, req.OldObject); made {
		// Not declared, but the agent that made it reconciles it, and
		// prunes what it applied (Git's objects among them) when it goes.
		return Result{Reason: ReasonAgentMadeDelete}
	}
	if req.Group == "" && req.Kind == "Namespace" {
		switch {
		case snap.NamespaceHoldsManaged(req.Name):
			// Deleting the namespace deletes every managed object in it.
			return Result{Reason: ReasonManagedNSDelete}
		case len(snap.InputsIn(req.Name)) > 0:
			// And every input a root's render reads there.
			return Result{Reason: ReasonRootInput}
		}
	}
	if isCRD(req) && crdDeclaresManaged(snap, req) {
		// Deleting a CRD deletes every custom resource of its kind, those
		// Git declares too, even when the CRD itself came from elsewhere
		// (a Helm chart). Entry stays nil: no one object is meant.
		return Result{Reason: ReasonManagedDelete}
	}
	return Result{Allowed: true, Reason: ReasonNotManaged}
}

func isCRD(req *Request) bool {
	return req.Group == "apiextensions.k8s.io" && req.Kind == "CustomResourceDefinition"
}

// crdDeclaresManaged reports whether Git declares custom resources of the
// CRD being deleted. Without the stored CRD, its name (plural.group) still
// names the group, and any declared kind of that group fails closed.
func crdDeclaresManaged(snap *Snapshot, req *Request) bool {
	spec, _ := req.OldObject["spec"].(map[string]any)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	kind, _ := names["kind"].(string)
	if group != "" && kind != "" {
		return snap.DeclaresKind(group, kind)
	}
	_, group, _ = strings.Cut(req.Name, ".")
	return snap.DeclaresGroup(group)
}

// ObjectSubresources are the subresources whose request carries the whole
// object, metadata included.
var ObjectSubresources = map[string]bool{"status": true, "ephemeralcontainers": true, "resize": true, "finalize": true}

// metadataFields are what a write through an object subresource can change
// besides the subresource itself.
var metadataFields = []string{"labels", "annotations", "ownerReferences", "finalizers"}

// MetadataChanged reports whether obj's labels, annotations,
// ownerReferences or finalizers differ from old's (absent is empty).
func MetadataChanged(old, obj map[string]any) bool {
	oldMeta, _ := old["metadata"].(map[string]any)
	objMeta, _ := obj["metadata"].(map[string]any)
	for _, f := range metadataFields {
		a, b := oldMeta[f], objMeta[f]
		if isEmptyValue(a) && isEmptyValue(b) {
			continue
		}
		if !reflect.DeepEqual(a, b) {
			return true
		}
	}
	return false
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// checkSubresource decides the subresources other than scale that people
// write. Controllers own them: status is their report, and in-place
// resizing (a vertical autoscaler) their job.
func (c *Checker) checkSubresource(req *Request, entry *Entry) Result {
	if c.Controller {
		return Result{Allowed: true, Reason: ReasonSubresource}
	}
	switch {
	case req.Subresource == "status" && (entry != nil || publishedStatus[req.Group+"/"+req.Kind]):
		// Others read status as truth: external-dns publishes the load
		// balancer address in a Service's, Ingress's or Gateway's status,
		// whoever made it (Git, a Helm release, an operator). A person
		// writes no status of those, nor of what Git declares. Other
		// status stays the business of the kubectl plugins that write it
		// (argo rollouts promote, cnpg promote).
		return Result{Reason: ReasonStatusWrite, Entry: entry}
	case req.Group == "" && req.Kind == "Namespace" && req.Subresource == "finalize" && entry != nil:
		// spec.finalizers holds the namespace controller's "kubernetes":
		// without it a deletion skips the cleanup of what the namespace
		// holds. Finishing a stuck deletion of a namespace Git does not
		// declare stays open, as removing an object's finalizers does.
		return Result{Reason: ReasonNamespaceFinalize, Entry: entry}
	case req.Group == "" && req.Kind == "Pod" && req.Subresource == "ephemeralcontainers":
		// kubectl debug runs a new container, with any image and
		// privileges, in a running Pod.
		return Result{Reason: ReasonEphemeralContainer, Entry: entry}
	case req.Group == "" && req.Kind == "Pod" && req.Subresource == "resize":
		return Result{Reason: ReasonPodResize, Entry: entry}
	}
	// The rest (eviction, binding, approval, ...) are the cluster's own.
	return Result{Allowed: true, Reason: ReasonSubresource}
}

// publishedStatus are the kinds, GROUP/KIND, whose status others publish
// as addresses (external-dns, by default, reads these three).
var publishedStatus = map[string]bool{
	"/Service":                          true,
	"networking.k8s.io/Ingress":         true,
	"gateway.networking.k8s.io/Gateway": true,
}

// checkScale compares a Scale's spec.replicas with the replicas Git declares
// for the scaled object. kubectl scale and the HPA write through it.
func (c *Checker) checkScale(req *Request, entry *Entry) Result {
	if entry == nil {
		if req.Operation == Update {
			// A scale is an update of the object: of one Git does not
			// declare (a Helm-rendered Deployment), not-in-git as a plain
			// update would be.
			return Result{Reason: ReasonNotInGit}
		}
		return Result{Allowed: true, Reason: ReasonSubresource}
	}
	declSpec, _ := c.Decoded.declared(entry)["spec"].(map[string]any)
	declared := map[string]any{}
	if r, ok := declSpec["replicas"]; ok {
		declared["spec"] = map[string]any{"replicas": r}
	}
	diffs := compare.Compare(declared, req.OldObject, req.Object, scaleSchema, compare.Options{
		Strict:   c.Fields != FieldsDeclared,
		Deadline: req.Deadline,
		Ignore:   scaleIgnore(c.ignoreFor(entry, false)),
	})
	return resultOf(entry, diffs)
}

// scaleSchema: a Scale's spec.replicas omits zero, so kubectl scale
// --replicas=0 arrives as spec: {}.
var scaleSchema = compare.SchemaForType(reflect.TypeOf(autoscalingv1.Scale{}))

// scaleIgnore keeps only what matters in a Scale: spec.replicas. The rest
// (metadata, status.selector) mirrors the scaled object. A user rule that
// ignores /spec/replicas on the object applies to its scale too.
func scaleIgnore(objIgnore *compare.Ignore) *compare.Ignore {
	ig := &compare.Ignore{}
	ig.Add([]string{"metadata"}, false)
	ig.Add([]string{"status"}, false)
	return compare.Merge(ig, objIgnore)
}

// ignoreFor is what the comparison of entry skips: the built-in and
// --ignore rules, and for a controller the fields the entry's root leaves
// to controllers (Entry.controllerIgnore: Argo CD's ignoreDifferences),
// which stay a person's to keep, but for an object a root's render reads
// or a GitOps object (kept): what it holds changes what a root applies,
// so no root's rule frees it for anyone.
func (c *Checker) ignoreFor(entry *Entry, kept bool) *compare.Ignore {
	var ig *compare.Ignore
	if c.Ignores != nil {
		ig = c.Ignores.For(entry.Key)
	}
	if c.Controller && !kept && entry.controllerIgnore != nil {
		ig = compare.Merge(ig, entry.controllerIgnore)
	}
	if entry.ignore != nil {
		// The root's own rules and what its render cannot reproduce
		// (indeterminate.go), for everyone.
		ig = compare.Merge(ig, entry.ignore)
	}
	return ig
}

func resultOf(entry *Entry, diffs []compare.Diff) Result {
	if len(diffs) == 0 {
		return Result{Allowed: true, Reason: ReasonMatchesGit, Entry: entry}
	}
	reason := ReasonFieldMismatch
	if diffs[len(diffs)-1].Kind == compare.Incomplete {
		return Result{Reason: ReasonDeadline, Entry: entry}
	}
	if slices.ContainsFunc(diffs, func(d compare.Diff) bool { return IsAgentMark(d.Path) && d.Kind != compare.Unproven }) {
		// Whatever else differs: no default makes a mark.
		return Result{Reason: ReasonAgentMark, Entry: entry, Diffs: slices.DeleteFunc(slices.Clone(diffs), isUnproven)}
	}
	if slices.ContainsFunc(diffs, isUnproven) {
		rest := slices.DeleteFunc(slices.Clone(diffs), isUnproven)
		if len(rest) == 0 {
			return Result{Reason: ReasonNeedsDefaults, Entry: entry, Diffs: diffs}
		}
		// Refused whatever the defaults say: no dry run is needed.
		diffs = rest
	}
	for _, d := range diffs {
		if d.Kind != compare.Undeclared {
			return Result{Reason: reason, Entry: entry, Diffs: diffs}
		}
	}
	return Result{Reason: ReasonUndeclared, Entry: entry, Diffs: diffs}
}

func isUnproven(d compare.Diff) bool { return d.Kind == compare.Unproven }

func apiVersionOf(obj map[string]any) string {
	v, _ := obj["apiVersion"].(string)
	return v
}

// onlyRemovesFinalizers reports whether an update of a terminating object
// removes finalizers and changes nothing else. Finalizers are removed by
// the controllers that own them (a prune's garbage collection, a
// PersistentVolumeClaim's protection) and, when a controller is gone, by a
// person; any other change to a terminating object is judged as usual.
func onlyRemovesFinalizers(old, obj map[string]any) bool {
	if !isTerminating(old) || obj == nil {
		return false
	}
	oldMeta, _ := old["metadata"].(map[string]any)
	objMeta, _ := obj["metadata"].(map[string]any)
	before, _ := oldMeta["finalizers"].([]any)
	after, _ := objMeta["finalizers"].([]any)
	if len(after) >= len(before) || !isSubsetOf(after, before) {
		return false
	}
	return equalWithout(old, obj, "finalizers")
}

func equalWithout(old, obj map[string]any, metaField string) bool {
	if len(old) != len(obj) {
		return false
	}
	for k, v := range obj {
		ov, ok := old[k]
		if !ok {
			return false
		}
		if k != "metadata" {
			if !reflect.DeepEqual(ov, v) {
				return false
			}
			continue
		}
		om, _ := ov.(map[string]any)
		nm, _ := v.(map[string]any)
		if !mapsEqualWithout(om, nm, metaField) {
			return false
		}
	}
	return true
}

func mapsEqualWithout(a, b map[string]any, skip string) bool {
	n := 0
	for k, v := range b {
		if k == skip {
			continue
		}
		n++
		av, ok := a[k]
		if !ok || !reflect.DeepEqual(av, v) {
			return false
		}
	}
	_, skipped := a[skip]
	if skipped {
		return len(a)-1 == n
	}
	return len(a) == n
}

// finishesDeletion: a delete of an object already being deleted, or an
// update that only removes finalizers; either only lets a deletion end.
func finishesDeletion(req *Request) bool {
	switch req.Operation {
	case Delete:
		return isTerminating(req.OldObject)
	case Update:
		return onlyRemovesFinalizers(req.OldObject, req.Object)
	}
	return false
}

func isTerminating(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	ts, _ := meta["deletionTimestamp"].(string)
	return ts != ""
}

// ModeLabel is the Namespace label that overrides the enforcement mode for
// the objects in the namespace.
const ModeLabel = "gitgate.dev/mode"

// protectedLabelDiffs keeps gitgate's own Namespace label as Git has it
// wherever labels Git does not declare are otherwise free (--fields
// declared, and every create): whoever may write a Namespace must not be
// able to switch enforcement off for everything in it. (When Git declares
// the label, the comparison already covers it.)
func protectedLabelDiffs(key Key, declared map[string]any, strict bool, old, obj map[string]any) []compare.Diff {
	// A strict update already judges every label; a create, in either
	// mode, leaves undeclared labels free, so it is checked here too.
	if strict && old != nil || key.Group != "" || key.Kind != "Namespace" {
		return nil
	}
	if _, isDeclared := labelOf(declared, ModeLabel); isDeclared {
		return nil
	}
	got, present := labelOf(obj, ModeLabel)
	before, had := labelOf(old, ModeLabel)
	if present == had && got == before {
		return nil
	}
	d := compare.Diff{
		Path: compare.Path{{Field: "metadata", Index: -1}, {Field: "labels", Index: -1}, {Field: ModeLabel, Index: -1}},
		Kind: compare.Undeclared,
	}
	if present {
		d.Request = got
	}
	if had {
		d.Old = before
	}
	return []compare.Diff{d}
}

// lifecycleFields decide when an object goes away: an ownerReference to an
// object that is then deleted makes the garbage collector delete a managed
// object, and a finalizer can hold its deletion forever. A person may not
// set them where Git does not, in either field mode and on create too.
var lifecycleFields = []string{"ownerReferences", "finalizers"}

// admissionFinalizers are added on create by the API server's own
// admission plugins (StorageObjectInUseProtection), not by the requester:
// the one finalizer of each kind (core group) that is free on create.
var admissionFinalizers = map[string]string{
	"PersistentVolumeClaim": "kubernetes.io/pvc-protection",
	"PersistentVolume":      "kubernetes.io/pv-protection",
}

// lifecycleDiffs reports lifecycleFields Git does not declare that the
// request sets or changes. A strict update already judges every field. A
// controller may hold an object's deletion with a finalizer and remove an
// ownerReference, but not add or change one: an ownerReference to an
// object that is then deleted makes the garbage collector delete the
// declared object, and whoever holds any service account's token is a
// controller.
func lifecycleDiffs(key Key, declared map[string]any, strict, controller bool, old, obj map[string]any) []compare.Diff {
	if strict && old != nil {
		return nil
	}
	declMeta, _ := declared["metadata"].(map[string]any)
	objMeta, _ := obj["metadata"].(map[string]any)
	oldMeta, _ := old["metadata"].(map[string]any)
	var diffs []compare.Diff
	for _, f := range lifecycleFields {
		if _, declared := declMeta[f]; declared || controller && f == "finalizers" {
			continue
		}
		got, before := objMeta[f], oldMeta[f]
		if old == nil && f == "finalizers" && key.Group == "" && admissionFinalizers[key.Kind] != "" {
			got = without(got, admissionFinalizers[key.Kind])
		}
		if isEmptyList(got) && isEmptyList(before) || reflect.DeepEqual(got, before) || controller && isSubsetOf(got, before) {
			continue
		}
		diffs = append(diffs, compare.Diff{
			Path: compare.Path{{Field: "metadata", Index: -1}, {Field: f, Index: -1}},
			Kind: compare.Undeclared, Request: got, Old: before,
		})
	}
	return diffs
}

// isSubsetOf reports whether every element of list a is in list b (a only
// removes).
func isSubsetOf(a, b any) bool {
	al, _ := a.([]any)
	bl, _ := b.([]any)
	for _, x := range al {
		found := false
		for _, y := range bl {
			if reflect.DeepEqual(x, y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// without is list v without the string x.
func without(v any, x string) any {
	l, _ := v.([]any)
	var out []any
	for _, f := range l {
		if s, _ := f.(string); s != x {
			out = append(out, f)
		}
	}
	return out
}

func isEmptyList(v any) bool {
	l, isList := v.([]any)
	return v == nil || isList && len(l) == 0
}

func labelOf(obj map[string]any, key string) (string, bool) {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, ok := labels[key].(string)
	return v, ok
}
