package compare

// Options.StrictUnder names subtrees a caller may not change even where Git
// does not declare them. The walk visits only what Git declares unless it
// is strict, so a protected field Git leaves out (a Service's externalIPs)
// would never be looked at: these helpers lead the walk there.

// towardStrict visits, in a map the walk compares without strictness, the
// keys Git does not declare that are, or lead to, a StrictUnder path.
func (w *walker) towardStrict(decl, oldMap, objMap map[string]any, s *Schema, ig *Ignore) {
	if !w.leadsToStrictPath("") {
		return // most maps of an object: no protected path runs below them
	}
	for k, v := range objMap {
		if _, ok := decl[k]; !ok && w.leadsToStrictPath(k) {
			w.field(k, nil, lookup(oldMap, k), v, s, ig)
		}
	}
	for k, v := range oldMap {
		_, declared := decl[k]
		if _, kept := objMap[k]; !kept && !declared && w.leadsToStrictPath(k) {
			w.field(k, nil, v, nil, s, ig)
		}
	}
}

// leadsToStrictPath reports whether descending into k reaches one of
// strictUnder's paths or a field on the way to one; k "" asks whether any
// key here could. Only map fields lead there: a path never runs through a
// list element.
func (w *walker) leadsToStrictPath(k string) bool {
	for _, p := range w.strictUnder {
		if len(p) <= len(w.path) || k != "" && p[len(w.path)] != k {
			continue
		}
		if w.startsPath(p) {
			return true
		}
	}
	return false
}

// startsPath reports whether the walk's path so far is the start of p:
// the same map fields, no list element on the way.
func (w *walker) startsPath(p []string) bool {
	for i, f := range w.path {
		if f.list != nil || f.index >= 0 || f.field != p[i] {
			return false
		}
	}
	return true
}
