package compare

import (
	"cmp"
	"strconv"
	"strings"
)

// Step is one element of a Path: a map key, or a list element identified by
// its merge key (Key/Value) or, for atomic lists, its position.
type Step struct {
	// Field is the map key; empty for list elements.
	Field string
	// KeyName and KeyValue identify an element of a list that merges by key,
	// e.g. containers[name=app].
	KeyName, KeyValue string
	// Index is the element's position in the request object, or -1.
	Index int
}

// Path locates a field inside an object.
type Path []Step

// Compare orders paths step by step, a path before those it leads to.
func (p Path) Compare(q Path) int {
	for i := range min(len(p), len(q)) {
		a, b := p[i], q[i]
		if c := cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.KeyName, b.KeyName),
			strings.Compare(a.KeyValue, b.KeyValue), cmp.Compare(a.Index, b.Index)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(p), len(q))
}

// String renders the path the way people read it in a denial:
// spec.template.spec.containers[name=app].image, or
// metadata.annotations["example.com/owner"] for keys that are not identifiers.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.KeyName != "":
			b.WriteString("[" + s.KeyName + "=" + s.KeyValue + "]")
		case s.Field == "" && s.Index >= 0:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case isIdentifier(s.Field):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Field)
		default:
			b.WriteString("[" + strconv.Quote(s.Field) + "]")
		}
	}
	return b.String()
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}
