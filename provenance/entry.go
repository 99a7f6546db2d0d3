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

// DecodedCache keeps decoded the declared manifests of the entries that
// decisions read last, shared read-only between them: admission traffic
// comes back to the same objects (the ones people and controllers keep
// writing), and a decision about one of them then skips decoding Git's
// side (some 10 µs for a Deployment, BENCHMARKS.md). It is bounded by
// entries and by the bytes of their JSON; an entry whose JSON is over
// maxCachedJSON is never kept, so no manifest, however shaped, holds much.
// The entry decoded longest ago goes first; a hit is one atomic load.
//
// Only admission decisions use it. The drift scan reads every entry once
// in turn, and through a cache it would only push out the hot ones.
type DecodedCache struct {
	mu       sync.Mutex
	ring     []*Entry
	head, n  int
	bytes    int
	maxBytes int
}

const (
	// DefaultDecodedEntries and DefaultDecodedBytes bound the cache
	// gitgate serve keeps: about 700 of peer.sh's Deployments (1.4 KB of
	// JSON, some 12 KB decoded), about 12 MB; at most about 22 MB for
	// manifests of many tiny maps, the shape that decodes largest (21 bytes
	// a byte of JSON).
	DefaultDecodedEntries = 1024
	DefaultDecodedBytes   = 1 << 20
	// maxCachedJSON is the largest entry the cache keeps.
	maxCachedJSON = 16 << 10
)

// NewDecodedCache returns a cache of at most entries entries and maxBytes
// bytes of their JSON.
func NewDecodedCache(entries, maxBytes int) *DecodedCache {
	return &DecodedCache{ring: make([]*Entry, max(entries, 1)), maxBytes: maxBytes}
}

// declared is e's manifest for reading only: no caller may change it, since
// other decisions share it. Without a cache (nil) it is decoded afresh.
func (c *DecodedCache) declared(e *Entry) map[string]any {
	if c == nil {
		return e.Object()
	}
	if m := e.decoded.Load(); m != nil {
		return *m
	}
	obj := e.Object()
	if len(e.object) <= maxCachedJSON {
		c.keep(e, obj)
	}
	return obj
}

// Label is the value of the label name in e's manifest, if it declares
// one as a string: a read of the shared manifest that hands out no map.
func (c *DecodedCache) Label(e *Entry, name string) (string, bool) {
	meta, _ := c.declared(e)["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, ok := labels[name].(string)
	return v, ok
}

func (c *DecodedCache) keep(e *Entry, obj map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(e.object) > c.maxBytes || e.decoded.Load() != nil {
		return // too large for the budget, or another decision kept it first
	}
	for c.n > 0 && (c.n == len(c.ring) || c.bytes+len(e.object) > c.maxBytes) {
		old := c.ring[c.head]
		c.ring[c.head] = nil
		c.head = (c.head + 1) % len(c.ring)
		c.n--
		c.bytes -= len(old.object)
		old.decoded.Store(nil)
	}
	if !e.decoded.CompareAndSwap(nil, &obj) {
		return // kept by another cache
	}
	c.ring[(c.head+c.n)%len(c.ring)] = e
	c.n++
	c.bytes += len(e.object)
}

// Len reports how many entries and bytes of JSON the cache holds.
func (c *DecodedCache) Len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.bytes
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
