package provenance

import (
	"sort"
)

// compose merges the indexes of the loaded roots into one Snapshot. An
// object declared by several roots goes to the one that declared it first:
// prev's owner while it still declares it, then the roots prev listed as
// the next in line, then the rest by source and name. So ownership is
// stable across recompositions, and a tie on first load goes by name.
func compose(loaded []*RootState, indexes map[Root]*Snapshot, prev *Snapshot) *Snapshot {
	sort.Slice(loaded, func(i, j int) bool { return rootLess(loaded[i].Root, loaded[j].Root) })
	total := 0
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
	var contested map[Key][]*Entry
	unresolved := map[string]bool{}
	for _, st := range loaded {
		snap.roots[st.Root] = st
		idx := indexes[st.Root]
		for k, e := range idx.objects {
			have, dup := snap.objects[k]
			if !dup {
				snap.objects[k] = e
				continue
			}
			if contested == nil {
				contested = map[Key][]*Entry{}
			}
			if len(contested[k]) == 0 {
				contested[k] = []*Entry{have}
			}
			contested[k] = append(contested[k], e)
		}
		for _, u := range idx.unresolved {
			unresolved[u] = true
		}
	}
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
	snap.conflicts = resolveConflicts(contested, prev, snap.objects)
	return snap
}

// resolveConflicts gives each contested key to the root that declared it
// first (see compose) and lists the conflicts by key.
func resolveConflicts(contested map[Key][]*Entry, prev *Snapshot, objects map[Key]*Entry) []Conflict {
	if len(contested) == 0 {
		return nil
	}
	var before map[Key]*Conflict
	if prev != nil && len(prev.conflicts) > 0 {
		before = make(map[Key]*Conflict, len(prev.conflicts))
		for i := range prev.conflicts {
			before[prev.conflicts[i].Key] = &prev.conflicts[i]
		}
	}
	out := make([]Conflict, 0, len(contested))
	for k, entries := range contested {
		rank := lineOf(k, prev, before[k])
		// entries are in source and name order; a stable sort keeps it
		// for the roots prev did not know.
		sort.SliceStable(entries, func(i, j int) bool { return rankOf(rank, entries[i].Root) < rankOf(rank, entries[j].Root) })
		objects[k] = entries[0]
		cf := Conflict{Key: k, Owner: entries[0].Root, Others: make([]Root, 0, len(entries)-1)}
		for _, e := range entries[1:] {
			cf.Others = append(cf.Others, e.Root)
		}
		out = append(out, cf)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key, out[j].Key) })
	return out
}

// lineOf is the order in which prev held key k: its owner, then the
// roots its conflict listed.
func lineOf(k Key, prev *Snapshot, cf *Conflict) []Root {
	var line []Root
	if prev != nil {
		if e := prev.objects[k]; e != nil {
			line = append(line, e.Root)
		}
	}
	if cf != nil {
		line = append(line, cf.Others...)
	}
	return line
}

func rankOf(line []Root, r Root) int {
	for i, l := range line {
		if l == r {
			return i
		}
	}
	return len(line)
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
