package provenance

import "fmt"

// Index is what one root declares at one revision, as the root's Indexer
// built it: every object once, each entry naming the root. A Composer
// merges the indexes of many roots into a Snapshot (Part); an Index holds
// one root by construction, so no Part can bring another root's entries.
// It never changes once built.
type Index struct {
	root     Root
	revision Revision
	objects  map[Key]*Entry
	// unresolved lists kinds whose scope was guessed, sorted.
	unresolved []string
}

// Root is the root whose objects the index holds.
func (idx *Index) Root() Root { return idx.root }

// Revision is the revision the root's files were read at.
func (idx *Index) Revision() Revision { return idx.revision }

// Len is the number of declared objects.
func (idx *Index) Len() int { return len(idx.objects) }

// Lookup returns the declared object for k, or nil.
func (idx *Index) Lookup(k Key) *Entry { return idx.objects[k] }

// Unresolved lists kinds whose scope was guessed: the API server did not
// serve them when the index was built. The root should be indexed again.
func (idx *Index) Unresolved() []string { return idx.unresolved }

// Snapshot is the index alone as a Snapshot, its root the only one and
// never fetched (RootState.Fetched is zero): for readers of a single root
// such as tests. A source driver hands its indexes to a Composer instead.
func (idx *Index) Snapshot() *Snapshot {
	st := &RootState{Root: idx.root, Revision: idx.revision, Objects: len(idx.objects)}
	return compose([]*RootState{st}, map[Root]*Index{idx.root: idx}, nil)
}

// add declares e; a second declaration of its key within the root is
// refused (ErrDuplicate).
func (idx *Index) add(e *Entry) error {
	if prev, dup := idx.objects[e.Key]; dup {
		return fmt.Errorf("%w: %s in %s and %s", ErrDuplicate, e.Key, prev.Origin(), e.Origin())
	}
	idx.objects[e.Key] = e
	return nil
}

func (idx *Index) addAll(entries []*Entry) error {
	for _, e := range entries {
		if err := idx.add(e); err != nil {
			return err
		}
	}
	return nil
}
