package provenance

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
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

// declared is the declared manifest for reading only: shared by every
// decision that reads it, so no caller may change it. The entries read
// last keep theirs decoded (decodedEntries); the rest decode on demand.
func (e *Entry) declared() map[string]any {
	if m := e.decoded.Load(); m != nil {
		return *m
	}
	obj := e.Object()
	decodedEntries.keep(e, obj)
	return obj
}

// decodedEntries bounds the entries that keep a decoded manifest. A
// Deployment decoded takes about 12 KB (BENCHMARKS.md, "Memory"), so the
// cache holds about 12 MB at most; admission traffic comes back to the same
// few objects (the ones people and controllers keep writing), which then
// skip a decode of some 10 µs per decision.
var decodedEntries = &decodedRing{ring: make([]*Entry, 1024)}

// decodedRing evicts the entry decoded longest ago, first in first out: a
// hit costs one atomic load and no lock.
type decodedRing struct {
	mu   sync.Mutex
	ring []*Entry
	next int
}

func (r *decodedRing) keep(e *Entry, obj map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.decoded.Load() != nil {
		return // another decision kept it first
	}
	if old := r.ring[r.next]; old != nil {
		old.decoded.Store(nil)
	}
	r.ring[r.next] = e
	r.next = (r.next + 1) % len(r.ring)
	e.decoded.Store(&obj)
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
