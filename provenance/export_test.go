package provenance

import (
	"strings"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Declared is the shared, decoded manifest decisions read through c.
func Declared(c *DecodedCache, e *Entry) map[string]any { return c.declared(e) }

// OwnsValue is ownsValue over a FieldsV1 set in JSON.
func OwnsValue(fieldsV1 string, obj map[string]any, p compare.Path) (bool, error) {
	set := &fieldpath.Set{}
	if err := set.FromJSON(strings.NewReader(fieldsV1)); err != nil {
		return false, err
	}
	return ownsValue(set, obj, p), nil
}
