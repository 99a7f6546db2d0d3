package provenance

// Declared is the shared, decoded manifest decisions read (declared).
func Declared(e *Entry) map[string]any { return e.declared() }
