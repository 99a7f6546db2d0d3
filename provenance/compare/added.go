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
// name, atomic list elements by position, keyed list elements by key and
// ordinal, read from the request's element at the same place (the walk's
// frames carry its position only). Nil where Defaults hold nothing there,
// or are not known.
func (w *walker) defaultAt() any {
	var d, r any = w.defaults, w.request
	for _, f := range w.path {
		if d == nil {
			return nil
		}
		dl, _ := d.([]any)
		rl, _ := r.([]any)
		switch {
		case (f.list != nil || f.index >= 0) && (f.index < 0 || f.index >= len(rl)):
			return nil // not an element of the request: nothing to default
		case f.list != nil:
			d, r = keyedElem(dl, f.list.keys, rl[f.index], keyOrdinal(rl, f.list.keys, f.index)), rl[f.index]
		case f.index >= 0:
			if f.index >= len(dl) {
				return nil
			}
			d, r = dl[f.index], rl[f.index]
		default:
			dm, _ := d.(map[string]any)
			rm, _ := r.(map[string]any)
			d, r = dm[f.field], rm[f.field]
		}
	}
	return d
}
