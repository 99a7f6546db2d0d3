package provenance

// Declared is the shared, decoded manifest decisions read through c.
func Declared(c *DecodedCache, e *Entry) map[string]any { return c.declared(e) }
