package provenance

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// NewEntry declares obj, a manifest normalized as an Indexer normalizes it,
// as one Entry; the caller may change obj afterwards.
func NewEntry(key Key, apiVersion, path string, obj map[string]any) (*Entry, error) {
	e := &Entry{Key: key, APIVersion: apiVersion, Path: path}
	if err := e.setObject(obj); err != nil {
		return nil, err
	}
	return e, nil
}

// Object is the declared manifest, decoded afresh on every call, so the
// caller owns (and may change) what it gets. It costs a few microseconds
// for a typical object: decode once per decision.
func (e *Entry) Object() map[string]any {
	obj, err := decodeEntry(e.object)
	if err != nil {
		// setObject encoded it; only memory corruption gets here.
		panic(fmt.Sprintf("provenance: entry %s holds invalid JSON: %v", e.Key, err))
	}
	return obj
}

func (e *Entry) setObject(obj map[string]any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("%s: encode the declared object: %w", e.Key, err)
	}
	e.object = raw
	return nil
}

// Digest identifies the declared object's content: two entries with the
// same Digest declare the same manifest, whatever root or revision they
// come from.
func (e *Entry) Digest() [sha256.Size]byte { return sha256.Sum256(e.object) }
