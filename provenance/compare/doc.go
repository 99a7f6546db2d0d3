// Package compare decides, field by field, whether an object agrees with the
// manifest Git declares for it, and names every place where it does not.
//
// It works on decoded JSON (map[string]any) so that built-in kinds and custom
// resources share one code path. A Schema, derived once per kind from the Go
// types or from a CRD's OpenAPI schema, tells it which lists merge by key and
// which values are quantities; everything else is compared generically.
//
// The package never reads Git, never talks to the API server and never
// formats values for people: it reports paths and raw values, and callers
// decide what may be shown.
package compare
