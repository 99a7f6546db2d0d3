package provenance

import (
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Key identifies an object independently of its API version.
type Key struct {
	Group, Kind, Namespace, Name string
}

func (k Key) String() string {
	gk := k.Kind
	if k.Group != "" {
		gk = k.Kind + "." + k.Group
	}
	if k.Namespace == "" {
		return gk + " " + k.Name
	}
	return gk + " " + k.Namespace + "/" + k.Name
}

// Revision names a commit the way Flux prints it: main@sha1:<hash>.
type Revision struct {
	// Ref is the branch, tag or semver-selected tag followed; empty when a
	// fixed commit is followed.
	Ref string
	// Hash is the full commit SHA.
	Hash string
	// Label names a revision that is more than a commit, as people read
	// it: a HelmRelease's chart, its version and the revision of the
	// chart's source ("chart podinfo 6.5.0 of HelmRepository
	// flux-system/charts at 6.5.0@sha256:…"). String prints it when set;
	// Ref and Hash then say the Git commit, if any, it was built from.
	Label string
}

func (r Revision) String() string {
	if r.Label != "" {
		return r.Label
	}
	if r.Ref == "" {
		return "sha1:" + r.Hash
	}
	return r.Ref + "@sha1:" + r.Hash
}

// Short is the abbreviated commit SHA people see in denials.
func (r Revision) Short() string {
	if len(r.Hash) > 7 {
		return r.Hash[:7]
	}
	return r.Hash
}

// Entry is one object Git declares.
type Entry struct {
	Key Key
	// APIVersion is the group/version the manifest is written in.
	APIVersion string
	// Path is the file in the repository that declares the object: for an
	// object of a kustomize root, the file kustomize recorded as its
	// origin, else the root's directory. Origin names it as people see it.
	Path string
	// Kustomize is the directory of the kustomize root whose build
	// declares the object; "" for a plain manifest file.
	Kustomize string
	// object is the declared manifest, normalized (see normalizeDeclared),
	// as JSON: bytes hold no pointers, so the collector never scans an
	// index of thousands of objects, and they take a seventh of the memory
	// of the maps (BENCHMARKS.md, "Memory"). Object decodes it.
	object []byte
	// Schema guides comparison of this kind; nil compares generically.
	Schema *compare.Schema
	// Root is the root that declares the object; Snapshot.RootOf gives its
	// revision.
	Root Root
	// AgentOnly: the GitOps agent alone writes this object, because Git
	// holds its values encrypted (a Flux Kustomization with SOPS
	// decryption). Object holds its identity only; any write by anyone
	// else is refused (ReasonAgentOnly), and no value is ever compared.
	AgentOnly bool
	// HideValues: some of its values may come from a Secret (a Flux
	// Kustomization's postBuild.substituteFrom), so denials name its
	// fields but never show their values.
	HideValues bool
	// Transient: the agent makes and removes the object in the course of
	// its work (a Helm hook or test, a Helm release record): it is
	// AgentOnly, and its absence is no drift.
	Transient bool
	// Indeterminate lists JSON pointers of fields whose values the render
	// cannot reproduce ("" for the whole object): the agent's render holds
	// other values there. Nobody but the agent may change them
	// (ReasonIndeterminate); they are never compared with Git's.
	Indeterminate []string
	// ignore holds the paths comparison skips for this entry alone: the
	// root's own ignore rules (File.Ignore) and Indeterminate; nil for
	// none.
	ignore *compare.Ignore
	// controllerIgnore are the fields its root leaves to controllers
	// (File.ControllerIgnores): free for a controller's write, never for
	// a person's. Nil for almost every entry.
	controllerIgnore *compare.Ignore
	// controllerManagers are the field managers whose fields its root
	// leaves to controllers (IgnoreRule.ManagedFieldsManagers): the
	// declared values they own in a controller's write are free
	// (Checker.managerFreed). Nil for almost every entry.
	controllerManagers []string
	// decoded is object decoded for reading, while a DecodedCache keeps
	// the entry.
	decoded atomic.Pointer[map[string]any]
}

// Snapshot is everything declared by a set of roots, each at its last good
// revision: what a Composer merged from the Index of each. It is immutable
// once built: requests read it without locks while the next is built.
type Snapshot struct {
	objects map[Key]*Entry
	// namespaces counts declared objects per namespace, so deleting a
	// namespace that holds managed objects can be refused in O(1).
	namespaces map[string]int
	// kinds counts declared objects per group and kind, so deleting a CRD
	// whose custom resources Git declares can be refused in O(1).
	kinds map[groupKind]int
	// unresolved lists kinds whose scope the API server did not know when
	// the snapshot was built (e.g. a CRD not yet installed).
	unresolved []string
	// roots holds the state of every root whose objects are here, by root;
	// rootList the same, ordered by source and name.
	roots    map[Root]*RootState
	rootList []*RootState
	// pending lists roots expected but never loaded.
	pending []Root
	// conflicts lists objects declared by more than one root;
	// contenders holds their declarations, owner first.
	conflicts  []Conflict
	contenders map[Key][]*Entry
	// heldAt is the state each held entry was declared at: entries a root
	// dropped at a revision some root of its source has not loaded.
	heldAt map[*Entry]*RootState
	// inputs are the objects roots' renders read besides their files
	// (Composer.SetInputs), each with the roots that read it.
	inputs map[Key][]RootInput
	// agents are the identities that apply one root's objects as the
	// agent (Composer.SetAgents), by user name, each with its roots.
	agents map[string][]Root
	// syncOnly are the roots whose agents are sync agents
	// (Composer.SetSyncAgents).
	syncOnly map[Root]bool
	// claims are what a root's agent alone writes, by group, kind and
	// namespace (Composer.SetClaims).
	claims map[claimScope][]RootClaim
}

// Lookup returns the declared object for k, or nil.
func (s *Snapshot) Lookup(k Key) *Entry {
	return s.objects[k]
}

// Declarations lists every declaration of k, the owner's (Lookup) first:
// more than one when roots conflict over k. A request on k must agree
// with all of them. Nil when k is not declared.
func (s *Snapshot) Declarations(k Key) []*Entry {
	if all := s.contenders[k]; all != nil {
		return all
	}
	if e := s.objects[k]; e != nil {
		return []*Entry{e}
	}
	return nil
}

// Len is the number of declared objects.
func (s *Snapshot) Len() int { return len(s.objects) }

// Unresolved lists kinds whose scope was guessed.
func (s *Snapshot) Unresolved() []string { return s.unresolved }

// NamespaceHoldsManaged reports whether Git declares objects in namespace ns.
func (s *Snapshot) NamespaceHoldsManaged(ns string) bool { return s.namespaces[ns] > 0 }

// DeclaresKind reports whether Git declares objects of a group and kind.
func (s *Snapshot) DeclaresKind(group, kind string) bool { return s.kinds[groupKind{group, kind}] > 0 }

// DeclaresGroup reports whether Git declares objects of any kind in a
// group other than the core group.
func (s *Snapshot) DeclaresGroup(group string) bool {
	for gk, n := range s.kinds {
		if gk.group == group && group != "" && n > 0 {
			return true
		}
	}
	return false
}

type groupKind struct{ group, kind string }

// Store holds the current Snapshot. Readers never block.
type Store struct {
	current atomic.Pointer[Snapshot]
}

// Load returns the current snapshot, or nil before the first sync.
func (s *Store) Load() *Snapshot { return s.current.Load() }

// Swap installs snap as the current snapshot.
func (s *Store) Swap(snap *Snapshot) { s.current.Store(snap) }

// ErrDuplicate is returned when one revision declares an object twice. The
// revision is refused: which of the two should gitgate enforce?
var ErrDuplicate = fmt.Errorf("object declared twice")

// Entries lists the declared objects, sorted by key, for the client
// commands (render, drift); the webhook looks objects up by key instead.
func (s *Snapshot) Entries() []*Entry {
	out := make([]*Entry, 0, len(s.objects))
	for _, e := range s.objects {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}
