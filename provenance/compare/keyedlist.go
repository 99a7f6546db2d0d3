package compare

import (
	"fmt"
	"strconv"
	"strings"
)

// keyedList compares lists that merge by key (containers by name, ports by
// port): elements match on their key, not their position, the way kubectl
// apply and the API server's strategic merge treat them. Key values are
// read once per list. It runs in passes: declared elements, then extra
// elements of the request, then (strict updates) elements the request
// removed. Each pass is linear in the list's length: a long list (20,000
// env vars in a hostile request) is matched through a hash index.
func (w *walker) keyedList(decl []any, old, obj any, s *Schema, keys []string, ig *Ignore) {
	mark := len(w.keybuf)
	defer func() { w.keybuf = w.keybuf[:mark] }()
	n := len(keys)
	objList, _ := obj.([]any)
	oldList, _ := old.([]any)
	kl := keyedLists{schema: s, elem: s.Elem(), ig: ig}
	from := indexFrom
	if w.linearOnly {
		from = -1
	}
	kl.decl = newKeyedSide(decl, w.keyValues(decl, keys), n, from)
	kl.obj = newKeyedSide(objList, w.keyValues(objList, keys), n, from)
	kl.old = newKeyedSide(oldList, w.keyValues(oldList, keys), n, from)
	w.declaredElements(&kl)
	if !w.strict && !w.strictLists {
		w.duplicateElements(&kl)
		return
	}
	w.extraElements(&kl)
	if w.strict && !w.added {
		// (Inside a subtree the update adds, old is the API server's
		// default: a request without an element of it adds nothing.)
		w.removedElements(&kl)
	}
}

// keyedLists holds the three sides of one keyed list.
type keyedLists struct {
	schema, elem   *Schema
	ig             *Ignore
	decl, obj, old keyedSide
}

// declaredElements compares every element Git declares with the request's
// element of the same key.
func (w *walker) declaredElements(kl *keyedLists) {
	for di, de := range kl.decl.list {
		if w.full() {
			return
		}
		declElem := de.(map[string]any)
		kv, ord := kl.decl.key(di), kl.decl.ordinal(di)
		i := kl.obj.find(kv, ord)
		if i < 0 {
			w.element(kl.schema, declElem, -1, ord, kl.ig, func(*Ignore) { w.report(Missing, de, nil, nil) })
			continue
		}
		oldElem := kl.old.elem(kv, ord)
		w.element(kl.schema, declElem, i, ord, kl.ig, func(eig *Ignore) { w.walk(de, oldElem, kl.obj.list[i], kl.elem, eig) })
	}
}

// duplicateElements: where undeclared elements are free, one repeating a
// declared key beyond what Git declares is not: for env, the last
// duplicate wins and would override Git's value. (Strict modes report it
// in extraElements with every other extra element.)
func (w *walker) duplicateElements(kl *keyedLists) {
	for i, e := range kl.obj.list {
		if w.full() {
			return
		}
		kv, ord := kl.obj.key(i), kl.obj.ordinal(i)
		if ord == 0 || kl.decl.find(kv, 0) < 0 || kl.decl.find(kv, ord) >= 0 {
			continue
		}
		if objElem, isMap := e.(map[string]any); isMap {
			w.extraElement(kl, objElem, i, ord)
		}
	}
}

// extraElements checks the request's elements Git does not declare: new
// ones are denied (strict lists), changed ones only in strict mode.
func (w *walker) extraElements(kl *keyedLists) {
	for i, e := range kl.obj.list {
		if w.full() {
			return
		}
		objElem, isMap := e.(map[string]any)
		if !isMap {
			continue
		}
		kv, ord := kl.obj.key(i), kl.obj.ordinal(i)
		if kl.decl.find(kv, ord) >= 0 {
			continue
		}
		oldElem := kl.old.elem(kv, ord)
		switch {
		case w.strict:
			w.element(kl.schema, objElem, i, ord, kl.ig, func(eig *Ignore) { w.walk(nil, oldElem, e, kl.elem, eig) })
		case oldElem == nil:
			// Undeclared fields are free here, undeclared elements are not.
			w.extraElement(kl, objElem, i, ord)
		}
	}
}

// extraElement reports element i of the request, the ord-th with its key,
// as undeclared, unless an ignore rule frees it.
func (w *walker) extraElement(kl *keyedLists, objElem map[string]any, i, ord int) {
	w.element(kl.schema, objElem, i, ord, kl.ig, func(eig *Ignore) {
		if !eig.skips(false, objElem) {
			w.report(Undeclared, nil, objElem, nil)
		}
	})
}

// removedElements reports, in strict mode, elements of old that neither Git
// nor the request has.
func (w *walker) removedElements(kl *keyedLists) {
	for j, e := range kl.old.list {
		if w.full() {
			return
		}
		oldElem, isMap := e.(map[string]any)
		if !isMap {
			continue
		}
		kv, ord := kl.old.key(j), kl.old.ordinal(j)
		if kl.decl.find(kv, ord) < 0 && kl.obj.find(kv, ord) < 0 {
			w.element(kl.schema, oldElem, -1, ord, kl.ig, func(eig *Ignore) { w.walk(nil, e, nil, kl.elem, eig) })
		}
	}
}

// keyValues reads the merge key values of every element of list into the
// walker's scratch buffer: n values per element, nil for non-objects.
func (w *walker) keyValues(list []any, keys []string) []any {
	start := len(w.keybuf)
	for _, e := range list {
		m, _ := e.(map[string]any)
		for _, k := range keys {
			w.keybuf = append(w.keybuf, lookup(m, k))
		}
	}
	return w.keybuf[start:len(w.keybuf):len(w.keybuf)]
}

// element runs fn for one keyed list element, the ord-th with its key,
// with its path pushed. The key is rendered to text only when a path or an
// ignore rule needs it.
func (w *walker) element(list *Schema, elem map[string]any, index, ord int, ig *Ignore, fn func(*Ignore)) {
	var eig *Ignore
	if ig != nil {
		name, value := renderKey(list.keys, elem)
		eig = ig.element(name+"="+value, index)
	}
	w.push(frame{index: int32(index), ord: int32(ord), list: list, elem: elem})
	fn(eig)
	w.pop()
}

// indexFrom is the length from which a list side is indexed. Below it a
// linear search is cheaper and allocates nothing; nearly every real list
// (containers, ports, volumes) is that short.
const indexFrom = 32

// keyedSide is one side of a keyed list: its elements and their key values,
// n per element. Keys are not always unique (port 53 over TCP and UDP share
// patchMergeKey "port"), so the k-th element with a key matches the k-th
// element with that key on the other side: its ordinal.
type keyedSide struct {
	list []any
	kvs  []any
	n    int
	// ords and pos index a long side: the ordinal of each element, and
	// the element of each key and ordinal. Nil for a short side.
	ords []int
	pos  map[string]int
}

// newKeyedSide indexes the side when it has at least from elements; a
// negative from never indexes.
func newKeyedSide(list, kvs []any, n, from int) keyedSide {
	s := keyedSide{list: list, kvs: kvs, n: n}
	if from < 0 || len(list) < from {
		return s
	}
	s.ords = make([]int, len(list))
	s.pos = make(map[string]int, len(list))
	seen := make(map[string]int, len(list))
	var b strings.Builder
	for i := range list {
		id := keyID(&b, s.key(i))
		s.ords[i] = seen[id]
		seen[id]++
		s.pos[id+"\x01"+strconv.Itoa(s.ords[i])] = i
	}
	return s
}

// key is the key values of element i.
func (s *keyedSide) key(i int) []any { return s.kvs[i*s.n : i*s.n+s.n] }

// ordinal counts the elements before i with the same key.
func (s *keyedSide) ordinal(i int) int {
	if s.ords != nil {
		return s.ords[i]
	}
	target := s.key(i)
	c := 0
	for j := 0; j < i; j++ {
		if sameKey(s.key(j), target) {
			c++
		}
	}
	return c
}

// find returns the index of the ord-th element whose key values equal kv,
// or -1.
func (s *keyedSide) find(kv []any, ord int) int {
	if s.pos != nil {
		var b strings.Builder
		if i, ok := s.pos[keyID(&b, kv)+"\x01"+strconv.Itoa(ord)]; ok {
			return i
		}
		return -1
	}
	for i := range s.list {
		if sameKey(s.key(i), kv) {
			if ord == 0 {
				return i
			}
			ord--
		}
	}
	return -1
}

// elem is the element with key kv and ordinal ord, or nil.
func (s *keyedSide) elem(kv []any, ord int) any {
	if i := s.find(kv, ord); i >= 0 {
		return s.list[i]
	}
	return nil
}

// sameKey reports whether two elements' key values are equal: strings
// exactly, anything else by value (80 and 80.0 are one port; a missing key
// is the empty key). keyID gives equal keys equal IDs.
func sameKey(a, b []any) bool {
	for i := range a {
		if !sameKeyValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameKeyValue(a, b any) bool {
	as, aIsStr := a.(string)
	bs, bIsStr := b.(string)
	if aIsStr && bIsStr {
		return as == bs
	}
	return semanticEqual(a, b, nil)
}

// keyedElem is the ord-th element of list whose keys hold elem's values,
// or nil. Elements that are not objects have the empty key, as in
// keyedSide.
func keyedElem(list []any, keys []string, elem map[string]any, ord int) any {
	for _, e := range list {
		m, _ := e.(map[string]any)
		if !sameElementKey(m, elem, keys) {
			continue
		}
		if ord == 0 {
			return e
		}
		ord--
	}
	return nil
}

func sameElementKey(a, b map[string]any, keys []string) bool {
	for _, k := range keys {
		if !sameKeyValue(a[k], b[k]) {
			return false
		}
	}
	return true
}

// keyID renders key values so that keys sameKey finds equal get one ID.
func keyID(b *strings.Builder, kv []any) string {
	b.Reset()
	for _, v := range kv {
		switch {
		case isEmpty(v):
			b.WriteString("z") // absent, "", 0 and false are the empty key
		case isString(v):
			b.WriteString("s")
			b.WriteString(v.(string))
		default:
			if f, ok := toFloat(v); ok {
				b.WriteString("n")
				b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			} else {
				fmt.Fprintf(b, "?%v", v)
			}
		}
		b.WriteByte(0)
	}
	return b.String()
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
