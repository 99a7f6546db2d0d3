package compare

import (
	"strconv"
	"strings"
)

// DiffKind says how a field disagrees with Git.
type DiffKind int

const (
	// Mismatch: Git declares the field and the request has another value.
	Mismatch DiffKind = iota
	// Missing: Git declares the field, or a keyed list element, and the
	// request lacks it.
	Missing
	// Undeclared: the request changes a field Git does not declare (strict
	// mode, updates only).
	Undeclared
)

// Diff is one place where a request disagrees with Git.
type Diff struct {
	Path Path
	Kind DiffKind
	// Git is the declared value (nil for Undeclared); Request is the value in
	// the request object; Old is the value before an update.
	Git, Request, Old any
}

// Options control a comparison.
type Options struct {
	// Strict denies updates that change fields Git does not declare.
	Strict bool
	// Ignore lists paths that are never compared.
	Ignore *Ignore
	// MaxDiffs caps the diffs reported; 0 means 64. Comparison stops early
	// once the cap is reached, the verdict is already known.
	MaxDiffs int
}

// Compare reports where obj disagrees with the declared manifest. For an
// update, pass the stored object as old; for a create, pass nil.
//
// Every field that Git declares must hold an equal value in obj after
// normalization (see equal). Fields Git does not declare are free on create,
// where the API server's defaulting and mutating admission add many. On
// update in strict mode, a change between old and obj outside Git's declared
// fields is a Diff of kind Undeclared.
func Compare(declared, old, obj map[string]any, s *Schema, opts Options) []Diff {
	w := walker{strict: opts.Strict && old != nil, max: opts.MaxDiffs}
	if w.max <= 0 {
		w.max = 64
	}
	w.walk(declared, old, obj, s, opts.Ignore, nil)
	return w.diffs
}

type walker struct {
	strict bool
	max    int
	diffs  []Diff
}

func (w *walker) full() bool { return len(w.diffs) >= w.max }

func (w *walker) report(p Path, kind DiffKind, git, req, old any) {
	if !w.full() {
		w.diffs = append(w.diffs, Diff{Path: append(Path(nil), p...), Kind: kind, Git: git, Request: req, Old: old})
	}
}

// walk compares one node. decl is nil where Git declares nothing.
func (w *walker) walk(decl, old, obj any, s *Schema, ig *Ignore, p Path) {
	if w.full() || ig.skips(decl != nil) {
		return
	}
	if w.strict && old == nil && decl != nil {
		// A declared subtree the object did not have yet (a container Git
		// just added) is being created: the defaults the API server fills
		// into it are free, exactly as on CREATE.
		w.strict = false
		defer func() { w.strict = true }()
	}
	switch d := decl.(type) {
	case nil:
		w.undeclared(old, obj, s, ig, p)
	case map[string]any:
		if len(d) == 0 {
			// An empty map declares the field's existence, not its content.
			w.undeclared(old, obj, s, ig, p)
			return
		}
		om, _ := obj.(map[string]any)
		if obj != nil && om == nil {
			w.report(p, Mismatch, decl, obj, old)
			return
		}
		oldm, _ := old.(map[string]any)
		for k, dv := range d {
			w.walk(dv, lookup(oldm, k), lookup(om, k), s.Field(k), ig.field(k), p.child(k))
		}
		if !w.strict {
			return
		}
		for k, v := range om {
			if _, ok := d[k]; !ok {
				w.walk(nil, lookup(oldm, k), v, s.Field(k), ig.field(k), p.child(k))
			}
		}
		for k, v := range oldm {
			if _, ok := d[k]; !ok {
				if _, ok := om[k]; !ok {
					w.walk(nil, v, nil, s.Field(k), ig.field(k), p.child(k))
				}
			}
		}
	case []any:
		if keys := s.Keys(); len(keys) > 0 && allMaps(d) {
			w.keyedList(d, old, obj, s, keys, ig, p)
			return
		}
		w.atomicList(d, old, obj, s, ig, p)
	default:
		if !equal(decl, obj, s) {
			w.report(p, mismatchKind(obj), decl, obj, old)
		}
	}
}

func mismatchKind(obj any) DiffKind {
	if obj == nil {
		return Missing
	}
	return Mismatch
}

// undeclared handles a subtree Git does not declare: free, unless strict mode
// and the request changes it. It descends to name the deepest changed field.
func (w *walker) undeclared(old, obj any, s *Schema, ig *Ignore, p Path) {
	if !w.strict || equal(old, obj, s) {
		return
	}
	// A map that appears or disappears is reported as a whole, unless
	// ignored fields lie inside it (kubectl's last-applied annotation), which
	// must stay free.
	om, ok1 := obj.(map[string]any)
	oldm, ok2 := old.(map[string]any)
	if ok1 && ok2 || ig != nil && (ok1 && old == nil || ok2 && obj == nil) {
		for k, v := range om {
			w.walk(nil, oldm[k], v, s.Field(k), ig.field(k), p.child(k))
		}
		for k, v := range oldm {
			if _, ok := om[k]; !ok {
				w.walk(nil, v, nil, s.Field(k), ig.field(k), p.child(k))
			}
		}
		return
	}
	ol, ok1 := obj.([]any)
	oldl, ok2 := old.([]any)
	if keys := s.Keys(); len(keys) > 0 && ok1 && ok2 && allMaps(ol) && allMaps(oldl) {
		w.keyedList(nil, oldl, ol, s, keys, ig, p)
		return
	}
	w.report(p, Undeclared, nil, obj, old)
}

// keyedList compares lists that merge by key (containers by name, ports by
// port): elements match on their key, not their position, the way kubectl
// apply and the API server's strategic merge treat them.
func (w *walker) keyedList(decl []any, old, obj any, s *Schema, keys []string, ig *Ignore, p Path) {
	ol, _ := obj.([]any)
	oldl, _ := old.([]any)
	keyName := strings.Join(keys, ",")
	for di, de := range decl {
		kv := keyOf(de.(map[string]any), keys)
		ord := ordinal(decl, di, kv, keys)
		i := find(ol, kv, ord, keys)
		if i < 0 {
			w.report(p.element(keyName, kv, -1), Missing, de, nil, nil)
			continue
		}
		var oe any
		if j := find(oldl, kv, ord, keys); j >= 0 {
			oe = oldl[j]
		}
		w.walk(de, oe, ol[i], s.Elem(), ig.element(keyName+"="+kv, i), p.element(keyName, kv, i))
	}
	if !w.strict {
		return
	}
	for i, e := range ol {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		kv := keyOf(em, keys)
		ord := ordinal(ol, i, kv, keys)
		if find(decl, kv, ord, keys) >= 0 {
			continue
		}
		var oe any
		if j := find(oldl, kv, ord, keys); j >= 0 {
			oe = oldl[j]
		}
		w.walk(nil, oe, e, s.Elem(), ig.element(keyName+"="+kv, i), p.element(keyName, kv, i))
	}
	for j, e := range oldl {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		kv := keyOf(em, keys)
		ord := ordinal(oldl, j, kv, keys)
		if find(decl, kv, ord, keys) < 0 && find(ol, kv, ord, keys) < 0 {
			w.walk(nil, e, nil, s.Elem(), ig.element(keyName+"="+kv, -1), p.element(keyName, kv, -1))
		}
	}
}

// atomicList compares a list that does not merge by key. Git owns the whole
// list: it must have as many elements as Git declares. Each element is
// compared position by position with the same declared-fields rule as the
// rest of the object, because defaulting reaches into list elements too (an
// RBAC subject gains apiGroup, a volumeClaimTemplate gains status).
func (w *walker) atomicList(decl []any, old, obj any, s *Schema, ig *Ignore, p Path) {
	ol, isList := obj.([]any)
	if len(decl) != len(ol) || obj != nil && !isList {
		w.report(p, mismatchKind(obj), decl, obj, old)
		return
	}
	oldl, _ := old.([]any)
	es := s.Elem()
	for i, de := range decl {
		var oe any
		if i < len(oldl) && len(oldl) == len(ol) {
			oe = oldl[i]
		}
		w.walk(de, oe, ol[i], es, ig.element("", i), p.index(i))
	}
}

// keyOf renders an element's merge key values, e.g. "app" or "53,UDP".
func keyOf(m map[string]any, keys []string) string {
	if len(keys) == 1 {
		return scalarString(m[keys[0]])
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = scalarString(m[k])
	}
	return strings.Join(parts, ",")
}

// ordinal counts earlier elements with the same key. Keys are not always
// unique (port 53 over TCP and UDP share patchMergeKey "port"), so the n-th
// element with a key matches the n-th element with that key on the other
// side.
func ordinal(list []any, i int, kv string, keys []string) int {
	n := 0
	for _, e := range list[:i] {
		if em, ok := e.(map[string]any); ok && keyOf(em, keys) == kv {
			n++
		}
	}
	return n
}

func find(list []any, kv string, ord int, keys []string) int {
	for i, e := range list {
		em, ok := e.(map[string]any)
		if ok && keyOf(em, keys) == kv {
			if ord == 0 {
				return i
			}
			ord--
		}
	}
	return -1
}

func allMaps(l []any) bool {
	for _, e := range l {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return true
}

func lookup(m map[string]any, k string) any {
	if m == nil {
		return nil
	}
	return m[k]
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(v)
	default:
		if f, ok := toFloat(v); ok {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return ""
	}
}
