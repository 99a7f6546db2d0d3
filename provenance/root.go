package provenance

import (
	"sort"
	"strings"
	"time"
)

// Root is one unit that renders on its own and keeps its own last good
// state: a --path of a Git source, a Flux Kustomization, an Argo CD
// Application. It is a value: two Roots are the same root when all fields
// are equal.
type Root struct {
	// Name says what the root is, as people name it: "path apps",
	// "Kustomization flux-system/apps".
	Name string
	// Source names where the root's files come from: a source name, or a
	// repository URL with any credentials removed.
	Source string
	// URL is the repository to commit to, credentials removed; it goes into
	// the advice of a denial.
	URL string
}

func (r Root) String() string {
	if r.Source == "" || r.Source == r.Name || r.Source == r.URL && r.Name != "" {
		return r.Name
	}
	return r.Name + " of " + r.Source
}

// RootState is a root as a Snapshot holds it: the revision its objects
// were declared at. It never changes once in a Snapshot.
type RootState struct {
	Root     Root
	Revision Revision
	// Fetched is when the revision was first read.
	Fetched time.Time
	// Objects is how many objects the root declares, conflicts included.
	Objects int
}

// Conflict is an object declared by more than one root. Every replica
// names the same owner, the first by source and name; a request on the
// object must agree with every declaration (Snapshot.Declarations), so
// which root owns it never decides a verdict.
type Conflict struct {
	Key   Key
	Owner Root
	// Others declare it too, by source and name.
	Others []Root
}

// RootOf is the state of the root that declares e in s (for an entry held
// after its root dropped it, the state it was declared at), or nil when e
// is not one of s's entries.
func (s *Snapshot) RootOf(e *Entry) *RootState {
	if e == nil {
		return nil
	}
	if st := s.heldAt[e]; st != nil {
		return st
	}
	return s.roots[e.Root]
}

// Held reports whether e is declared only because its root dropped it at
// a revision another root of its source has not loaded: the verdict on it
// rests on every root of that source.
func (s *Snapshot) Held(e *Entry) bool {
	_, held := s.heldAt[e]
	return held
}

// Roots lists the loaded roots, ordered by source and name.
func (s *Snapshot) Roots() []*RootState { return s.rootList }

// Pending lists the roots expected but not loaded yet.
func (s *Snapshot) Pending() []Root { return s.pending }

// Conflicts lists the objects declared by more than one root, by key.
func (s *Snapshot) Conflicts() []Conflict { return s.conflicts }

func rootLess(a, b Root) bool {
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.URL < b.URL
}

func sortRoots(roots []Root) {
	sort.Slice(roots, func(i, j int) bool { return rootLess(roots[i], roots[j]) })
}

// Revisions names the revisions the snapshot's roots are at, each once, in
// root order: "main@sha1:…" when every root is at one revision.
func (s *Snapshot) Revisions() string {
	var out []string
	seen := map[Revision]bool{}
	for _, r := range s.rootList {
		if !seen[r.Revision] {
			seen[r.Revision] = true
			out = append(out, r.Revision.String())
		}
	}
	return strings.Join(out, ", ")
}
