package provenance

import (
	"sort"
)

// heldEntry is an entry a root dropped at a revision that not every root
// of its source has loaded yet, kept with the state it was declared at.
type heldEntry struct {
	entry *Entry
	state *RootState
}

// compose merges the indexes of the loaded roots into one Snapshot, with
// the entries held for keys no loaded root declares (see
// Composer.holdDropped). An object declared by several roots is owned,
// for display, by the first by source and name, so every replica agrees;
// a request on it must satisfy all of them (Snapshot.Declarations).
func compose(loaded []*RootState, indexes map[Root]*Index, held []heldEntry) *Snapshot {
	sort.Slice(loaded, func(i, j int) bool { return rootLess(loaded[i].Root, loaded[j].Root) })
	total := len(held)
	for _, st := range loaded {
		total += len(indexes[st.Root].objects)
	}
	snap := &Snapshot{
		objects:    make(map[Key]*Entry, total),
		namespaces: map[string]int{},
		kinds:      map[groupKind]int{},
		roots:      make(map[Root]*RootState, len(loaded)),
		rootList:   loaded,
	}
	contested := map[Key][]*Entry{}
	unresolved := map[string]bool{}
	for _, st := range loaded {
		snap.roots[st.Root] = st
		idx := indexes[st.Root]
		for _, e := range idx.objects {
			snap.declare(e, contested)
		}
		for _, u := range idx.unresolved {
			unresolved[u] = true
		}
	}
	snap.addHeld(held, contested)
	// Counts depend on the key alone, not on which root owns it.
	for k := range snap.objects {
		snap.kinds[groupKind{k.Group, k.Kind}]++
		if k.Namespace != "" {
			snap.namespaces[k.Namespace]++
		}
	}
	for u := range unresolved {
		snap.unresolved = append(snap.unresolved, u)
	}
	sort.Strings(snap.unresolved)
	snap.conflicts, snap.contenders = resolveConflicts(contested, snap.objects)
	return snap
}

// declare adds e, noting a second declaration of its key in contested.
func (s *Snapshot) declare(e *Entry, contested map[Key][]*Entry) {
	have, dup := s.objects[e.Key]
	if !dup {
		s.objects[e.Key] = e
		return
	}
	if len(contested[e.Key]) == 0 {
		contested[e.Key] = []*Entry{have}
	}
	contested[e.Key] = append(contested[e.Key], e)
}

// addHeld declares the held entries whose keys no loaded root declares:
// a key that moved to a root that loaded is that root's alone.
func (s *Snapshot) addHeld(held []heldEntry, contested map[Key][]*Entry) {
	var keep []heldEntry
	for _, h := range held {
		if s.objects[h.entry.Key] == nil {
			keep = append(keep, h)
		}
	}
	if len(keep) > 0 {
		s.heldAt = make(map[*Entry]*RootState, len(keep))
	}
	for _, h := range keep {
		s.heldAt[h.entry] = h.state
		s.declare(h.entry, contested)
	}
}

// resolveConflicts orders the declarations of each contested key by
// source and name, gives the key to the first for display, and lists the
// conflicts by key.
func resolveConflicts(contested map[Key][]*Entry, objects map[Key]*Entry) ([]Conflict, map[Key][]*Entry) {
	if len(contested) == 0 {
		return nil, nil
	}
	out := make([]Conflict, 0, len(contested))
	for k, entries := range contested {
		sort.SliceStable(entries, func(i, j int) bool { return rootLess(entries[i].Root, entries[j].Root) })
		objects[k] = entries[0]
		cf := Conflict{Key: k, Owner: entries[0].Root, Others: make([]Root, 0, len(entries)-1)}
		for _, e := range entries[1:] {
			cf.Others = append(cf.Others, e.Root)
		}
		out = append(out, cf)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key, out[j].Key) })
	return out, contested
}

func keyLess(a, b Key) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
