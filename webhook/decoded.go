package webhook

// Helpers over decoded JSON objects (maps, lists and scalars, as
// provenance.DecodeObject gives them), for the judge stage's files.

// at is the value at path in obj, or nil.
func at(obj map[string]any, path []string) any {
	var node any = obj
	for _, f := range path {
		m, _ := node.(map[string]any)
		node = m[f]
	}
	return node
}

// equalExcept compares two decoded objects, leaving out the paths in
// skip (a missing value and a skipped one are alike).
func equalExcept(a, b map[string]any, skip [][]string) bool {
	for k := range union(a, b) {
		var below [][]string
		skipped := false
		for _, p := range skip {
			switch {
			case len(p) == 0 || p[0] != k:
			case len(p) == 1:
				skipped = true
			default:
				below = append(below, p[1:])
			}
		}
		switch {
		case skipped:
		case len(below) > 0 && isMapOrNil(a[k]) && isMapOrNil(b[k]):
			am, _ := a[k].(map[string]any)
			bm, _ := b[k].(map[string]any)
			if !equalExcept(am, bm, below) {
				return false
			}
		case !equalJSON(a[k], b[k]):
			return false
		}
	}
	return true
}

func isMapOrNil(v any) bool {
	_, ok := v.(map[string]any)
	return ok || v == nil
}

func union(a, b map[string]any) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// equalJSON is reflect.DeepEqual for decoded JSON (maps, lists and
// scalars), without its allocations: runsAnew compares whole Pod
// templates on every refusal of a workload.
func equalJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) || (av == nil) != (bv == nil) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !equalJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) || (av == nil) != (bv == nil) {
			return false
		}
		for i := range av {
			if !equalJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	default:
		// Scalars: string, float64, int64, bool, nil, all comparable.
		switch b.(type) {
		case map[string]any, []any:
			return false
		}
		return a == b
	}
}
