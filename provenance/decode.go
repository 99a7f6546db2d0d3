package provenance

import (
	"errors"
	"fmt"
	"io"

	jsoniter "github.com/json-iterator/go"
)

// decoder is json-iterator in its encoding/json-compatible configuration:
// the same values as encoding/json for map[string]any (float64 numbers),
// at well under half the cost. Objects are decoded twice per UPDATE on the
// admission hot path (object and oldObject), where decoding is most of the
// work; see BENCHMARKS.md.
var decoder = jsoniter.ConfigCompatibleWithStandardLibrary

// The fields DecodeObject skips. Skipping is only sound because comparison
// ignores them always: TestDecodeSkipsOnlyIgnoredFields keeps this in step
// with builtinIgnores.
const (
	skippedTopField      = "status"
	skippedMetadataField = "managedFields"
)

// skippedPointers are the skipped fields as ignore-rule pointers.
var skippedPointers = []string{"/" + skippedTopField, "/metadata/" + skippedMetadataField}

// errNotObject: an admission object must be a JSON object.
var errNotObject = errors.New("not a JSON object")

// DecodeObject decodes one object of an admission request. An empty or
// null body decodes to nil (DELETE has no object, CREATE no oldObject).
//
// status and metadata.managedFields are skipped, not decoded: comparison
// always ignores both (see builtinIgnores), and on a typical object they
// are a third of the JSON and most of the small maps.
func DecodeObject(raw []byte) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	iter := decoder.BorrowIterator(raw)
	defer decoder.ReturnIterator(iter)
	if iter.WhatIsNext() != jsoniter.ObjectValue {
		return nil, errNotObject
	}
	obj := map[string]any{}
	complete := iter.ReadMapCB(func(it *jsoniter.Iterator, key string) bool {
		switch {
		case key == skippedTopField:
			it.Skip()
		case key == "metadata" && it.WhatIsNext() == jsoniter.ObjectValue:
			obj[key] = readMetadata(it)
		default:
			obj[key] = it.Read()
		}
		return it.Error == nil
	})
	switch {
	case iter.Error == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case iter.Error != nil:
		return nil, iter.Error
	case !complete:
		return nil, errors.New("decode object: malformed JSON")
	}
	// Nothing but white space may follow the object.
	if iter.WhatIsNext() != jsoniter.InvalidValue || iter.Error != io.EOF {
		return nil, fmt.Errorf("decode object: bytes left after the object")
	}
	return obj, nil
}

func readMetadata(iter *jsoniter.Iterator) map[string]any {
	meta := map[string]any{}
	iter.ReadMapCB(func(it *jsoniter.Iterator, key string) bool {
		if key == skippedMetadataField {
			it.Skip()
		} else {
			meta[key] = it.Read()
		}
		return it.Error == nil
	})
	return meta
}
