package provenance

import (
	"errors"

	jsoniter "github.com/json-iterator/go"
)

// decoder is json-iterator in its encoding/json-compatible configuration:
// the same results as encoding/json for map[string]any (float64 numbers,
// the same errors on malformed input), at well under half the cost. Objects
// are decoded twice per UPDATE on the admission hot path (object and
// oldObject), where decoding is most of the work; see BENCHMARKS.md.
var decoder = jsoniter.ConfigCompatibleWithStandardLibrary

// errNotObject: an admission object must be a JSON object.
var errNotObject = errors.New("not a JSON object")

// DecodeObject decodes one object of an admission request. An empty or
// null body decodes to nil (DELETE has no object, CREATE no oldObject).
func DecodeObject(raw []byte) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var obj map[string]any
	if err := decoder.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errNotObject
	}
	return obj, nil
}
