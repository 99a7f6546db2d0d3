package compare

import (
	"encoding/json"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"
)

// semanticEqual reports whether two decoded JSON values are the same to
// the API server. Each rule below exists because the object that reaches admission
// is not the YAML stored in Git:
//
//   - Absent, null, "", 0, false, {} and [] are alike. The API server drops
//     empty optional fields when it encodes (omitempty), so a manifest that
//     spells out `hostNetwork: false` or `args: []` reads back without them.
//   - Numbers compare by value across int and float: YAML and JSON decoders
//     disagree on 80 versus 80.0, the API server does not.
//   - Quantities compare by value: the API server canonicalizes "0.5" to
//     "500m" and "1000m" to "1"
//     (https://github.com/kubernetes/kubernetes/issues/54336).
//   - Maps compare key by key, so label and annotation order never matters.
func semanticEqual(a, b any, s *Schema) bool {
	if isEmpty(a) || isEmpty(b) {
		return isEmpty(a) && isEmpty(b)
	}
	if s.IsQuantity() {
		if eq, ok := quantitiesEqual(a, b); ok {
			return eq
		}
	}
	switch av := a.(type) {
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case map[string]any:
		bv, ok := b.(map[string]any)
		return ok && mapsSemanticEqual(av, bv, s)
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		es := s.Elem()
		for i := range av {
			if !semanticEqual(av[i], bv[i], es) {
				return false
			}
		}
		return true
	default:
		return numbersEqual(a, b)
	}
}

// atomicEqual compares a value that means what it says as a whole, such as
// a label selector. A key only one side has is a difference even when its
// value is "": `nobody: ""` in a NetworkPolicy's podSelector selects only
// Pods with that label, so a default-deny policy would silently select
// nothing. Absent, null, {} and [] stay alike, since the API server drops
// empty optional fields of a selector (matchExpressions: []).
func atomicEqual(a, b any, s *Schema) bool {
	if isAbsent(a) || isAbsent(b) {
		return isAbsent(a) && isAbsent(b)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, x := range av {
			if !atomicEqual(x, bv[k], s.Field(k)) {
				return false
			}
		}
		for k, y := range bv {
			if _, ok := av[k]; !ok && !isAbsent(y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !atomicEqual(av[i], bv[i], s.Elem()) {
				return false
			}
		}
		return true
	default:
		return semanticEqual(a, b, s)
	}
}

// isAbsent reports a value the API server never keeps in a selector: null,
// {} or [].
func isAbsent(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// quantitiesEqual compares two quantities by value; ok is false when either
// is not a quantity, and the values are then compared as they are.
func quantitiesEqual(a, b any) (eq, ok bool) {
	if as, isStr := a.(string); isStr {
		if bs, isStr := b.(string); isStr && as == bs {
			return true, true
		}
	}
	qa, ok := quantity(a)
	if !ok {
		return false, false
	}
	qb, ok := quantity(b)
	if !ok {
		return false, false
	}
	return qa.Cmp(qb) == 0, true
}

// mapsSemanticEqual compares key by key; a key only one side has must hold
// an empty value.
func mapsSemanticEqual(a, b map[string]any, s *Schema) bool {
	found := 0
	for k, x := range a {
		y, ok := b[k]
		if ok {
			found++
		}
		if !semanticEqual(x, y, s.Field(k)) {
			return false
		}
	}
	if found == len(b) {
		return true // b has no keys a lacks
	}
	for k, y := range b {
		if _, ok := a[k]; !ok && !isEmpty(y) {
			return false
		}
	}
	return true
}

// isEmpty reports whether v is one of the values the API server omits.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case int64:
		return v == 0
	case float64:
		return v == 0
	case int:
		return v == 0
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	}
	return false
}

func numbersEqual(a, b any) bool {
	if ai, ok := a.(int64); ok {
		if bi, ok := b.(int64); ok {
			return ai == bi
		}
	}
	fa, ok1 := toFloat(a)
	fb, ok2 := toFloat(b)
	return ok1 && ok2 && fa == fb
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case int32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

func quantity(v any) (resource.Quantity, bool) {
	switch v := v.(type) {
	case string:
		q, err := resource.ParseQuantity(v)
		return q, err == nil
	default:
		if f, ok := toFloat(v); ok {
			q, err := resource.ParseQuantity(scalarString(f))
			return q, err == nil
		}
	}
	return resource.Quantity{}, false
}

// exactEqual reports whether two values the API server wrote are the same.
// Unlike semanticEqual, absent is not the zero value here: both sides went through the
// same serializer, so a field that appears, even as "", 0, false or {},
// was added (runAsUser: 0, or a label with an empty value that a selector
// tests for existence).
func exactEqual(a, b any) bool {
	switch av := a.(type) {
	case nil:
		return b == nil
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !exactEqual(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !exactEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	default:
		return numbersEqual(a, b)
	}
}
