package compare

// SkipsPath reports whether ig frees the field at fields (map keys from the
// object's root) with value v, where Git does not declare it: for checks
// made beside Compare, such as a controller's ownerReferences, which must
// honour the same --ignore rules.
func (ig *Ignore) SkipsPath(fields []string, v any) bool {
	n := ig
	for _, f := range fields {
		if n.skips(false, v) {
			return true
		}
		n = n.field(f)
	}
	return n.skips(false, v)
}
