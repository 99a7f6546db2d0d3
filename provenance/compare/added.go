package compare

// A strict update may add a subtree the stored object lacks, below fields
// Git declares: a container Git's new revision adds, a securityContext it
// declares for the first time, the elements of an atomic list whose length
// it changes. Until the agent applies that revision, the person who sends
// it first makes the subtree. Its declared fields are held to Git as
// anywhere; the rest may only be what the API server's defaulting gives
// Git's manifest at the same place (Options.Defaults, a dry run). Anything
// else (allowPrivilegeEscalation beside Git's runAsNonRoot, a command in
// Git's new container) would survive the agent's server-side apply, which
// keeps fields another manager set. walk marks such a subtree (walker.added),
// and undeclared compares what Git leaves out with defaultAt.

// defaultAt is what Options.Defaults holds where the walk is: map fields by
// name, keyed list elements by key and ordinal, atomic list elements by
// position. Nil where Defaults hold nothing there, or are not known.
func (w *walker) defaultAt() any {
	var v any = w.defaults
	for _, f := range w.path {
		if v == nil {
			return nil
		}
		l, _ := v.([]any)
		switch {
		case f.list != nil:
			v = keyedElem(l, f.list.keys, f.elem, int(f.ord))
		case f.index >= 0:
			if int(f.index) >= len(l) {
				return nil
			}
			v = l[f.index]
		default:
			m, _ := v.(map[string]any)
			v = m[f.field]
		}
	}
	return v
}
