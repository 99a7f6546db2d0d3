package compare

import (
	"fmt"
	"strconv"
	"strings"
)

// Ignore is a compiled set of paths that comparison skips. It is a trie over
// path steps, walked in step with the object, so that an object with no
// ignored paths under a subtree pays nothing there. The zero value and nil
// ignore nothing.
type Ignore struct {
	children map[string]*Ignore
	// prefixes match keys or keyed elements by prefix: a segment ending in
	// "*", such as name=kube-api-access-* for a generated volume name.
	prefixes []prefixIgnore
	// any matches every map key or list element at this level ("*").
	any *Ignore
	// skip ends the walk here: the subtree is ignored.
	skip bool
	// undeclaredOnly limits skip to subtrees that Git does not declare; it is
	// how API-allocated values (a Service's clusterIP) stay free unless Git
	// pins them.
	undeclaredOnly bool
	// shape, when set, limits skip to values it accepts: an admission
	// plugin's addition is free only in the exact form the plugin writes.
	shape Shape
}

// Shape accepts the values an ignore rule may skip.
type Shape func(v any) bool

type prefixIgnore struct {
	prefix string
	node   *Ignore
}

// ParsePointer splits an RFC 6901 JSON pointer into its segments. A segment
// "*" matches any key or list element; a segment may also select a list
// element by position ("0") or by merge key ("name=app"), and a segment
// ending in "*" matches by prefix ("name=kube-api-access-*").
func ParsePointer(ptr string) ([]string, error) {
	if ptr == "" || ptr[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q must start with /", ptr)
	}
	segs := strings.Split(ptr[1:], "/")
	for i, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("JSON pointer %q has an empty segment", ptr)
		}
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs, nil
}

// Add registers the path given as segments. undeclaredOnly keeps the path
// compared when Git declares it.
func (ig *Ignore) Add(segments []string, undeclaredOnly bool) {
	ig.AddShape(segments, undeclaredOnly, nil)
}

// AddShape registers a path whose value is skipped only when shape accepts
// it; a nil shape accepts everything.
func (ig *Ignore) AddShape(segments []string, undeclaredOnly bool, shape Shape) {
	n := ig
	for _, s := range segments {
		if s == "*" {
			if n.any == nil {
				n.any = &Ignore{}
			}
			n = n.any
			continue
		}
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			c := &Ignore{}
			n.prefixes = append(n.prefixes, prefixIgnore{prefix: prefix, node: c})
			n = c
			continue
		}
		if n.children == nil {
			n.children = map[string]*Ignore{}
		}
		c := n.children[s]
		if c == nil {
			c = &Ignore{}
			n.children[s] = c
		}
		n = c
	}
	// A path ignored unconditionally wins over one ignored only when undeclared.
	n.undeclaredOnly = !n.skip && undeclaredOnly || n.skip && n.undeclaredOnly && undeclaredOnly
	n.shape = anyShape(n.skip, n.shape, true, shape)
	n.skip = true
}

// anyShape combines the shapes of two rules on one path: a value either
// accepts is skipped. A rule without a shape accepts every value.
func anyShape(skipA bool, a Shape, skipB bool, b Shape) Shape {
	switch {
	case !skipA:
		return b
	case !skipB:
		return a
	case a == nil || b == nil:
		return nil
	}
	return func(v any) bool { return a(v) || b(v) }
}

// Merge returns a new Ignore holding the paths of both.
func Merge(a, b *Ignore) *Ignore {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &Ignore{
		skip:           a.skip || b.skip,
		undeclaredOnly: (!a.skip || a.undeclaredOnly) && (!b.skip || b.undeclaredOnly),
		shape:          anyShape(a.skip, a.shape, b.skip, b.shape),
		any:            Merge(a.any, b.any),
		prefixes:       append(append([]prefixIgnore(nil), a.prefixes...), b.prefixes...),
	}
	if len(a.children)+len(b.children) > 0 {
		out.children = make(map[string]*Ignore, len(a.children)+len(b.children))
		for k, v := range a.children {
			out.children[k] = v
		}
		for k, v := range b.children {
			out.children[k] = Merge(out.children[k], v)
		}
	}
	return out
}

func (ig *Ignore) field(name string) *Ignore {
	if ig == nil {
		return nil
	}
	found := ig.children[name]
	if found == nil {
		found = ig.byPrefix(name)
	}
	if found == nil {
		return ig.any
	}
	if ig.any != nil {
		return Merge(found, ig.any)
	}
	return found
}

func (ig *Ignore) byPrefix(s string) *Ignore {
	var out *Ignore
	for _, p := range ig.prefixes {
		if strings.HasPrefix(s, p.prefix) {
			out = Merge(out, p.node)
		}
	}
	return out
}

func (ig *Ignore) element(keyed string, index int) *Ignore {
	if ig == nil {
		return nil
	}
	var found *Ignore
	if keyed != "" {
		found = ig.children[keyed]
		if found == nil {
			found = ig.byPrefix(keyed)
		}
	}
	if found == nil && len(ig.children) > 0 {
		found = ig.children[strconv.Itoa(index)]
	}
	if found == nil {
		return ig.any
	}
	return Merge(found, ig.any)
}

// SkipsAt reports whether comparison skips, where Git does not declare
// it, the value at the map path fields of obj (each a map key) or a map
// on the way there: for a caller that judges such a field itself.
func (ig *Ignore) SkipsAt(obj map[string]any, fields ...string) bool {
	node, v := ig, any(obj)
	for _, f := range fields {
		m, _ := v.(map[string]any)
		node, v = node.field(f), m[f]
		if node.skips(false, v) {
			return true
		}
	}
	return false
}

// skips reports whether the walk ends at value v.
func (ig *Ignore) skips(declared bool, v any) bool {
	return ig != nil && ig.skip && (!ig.undeclaredOnly || !declared) && (ig.shape == nil || ig.shape(v))
}
