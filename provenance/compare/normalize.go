package compare

// Normalize rewrites a declared manifest in place into the form the API
// server stores, where that form is known from the schema, so that the hot
// path compares strings instead of parsing them. Today that is quantities:
// "0.5" becomes "500m" and "1000m" becomes "1", as the API server writes
// them back (https://github.com/kubernetes/kubernetes/issues/54336).
func Normalize(v any, s *Schema) any {
	if s == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = Normalize(e, s.Field(k))
		}
	case []any:
		es := s.Elem()
		for i, e := range x {
			x[i] = Normalize(e, es)
		}
	default:
		if s.IsQuantity() {
			if q, ok := quantity(x); ok {
				return q.String()
			}
		}
	}
	return v
}
