package provenance

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func testEntry(t testing.TB, name string, jsonBytes int) *Entry {
	t.Helper()
	obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}, "data": map[string]any{}}
	e, err := NewEntry(Key{Kind: "ConfigMap", Namespace: "shop", Name: name}, "v1", "conf.yaml", obj)
	if err != nil {
		t.Fatal(err)
	}
	if pad := jsonBytes - len(e.object) - len(`"pad":""`); pad > 0 {
		obj["data"] = map[string]any{"pad": strings.Repeat("x", pad)}
		if err := e.setObject(obj); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestDecodedCacheBounds: the cache holds at most its entries and its
// bytes of JSON, evicts the entry kept longest ago, and never keeps an
// entry over maxCachedJSON.
func TestDecodedCacheBounds(t *testing.T) {
	for _, tc := range []struct {
		name             string
		entries, bytes   int
		sizes            []int
		wantKept         []bool
		wantN, wantBytes int
	}{
		{name: "entries bound", entries: 2, bytes: 1 << 20, sizes: []int{200, 200, 200},
			wantKept: []bool{false, true, true}, wantN: 2, wantBytes: 400},
		{name: "bytes bound", entries: 10, bytes: 500, sizes: []int{200, 200, 200},
			wantKept: []bool{false, true, true}, wantN: 2, wantBytes: 400},
		{name: "a large entry pushes out several", entries: 10, bytes: 1000, sizes: []int{300, 300, 300, 900},
			wantKept: []bool{false, false, false, true}, wantN: 1, wantBytes: 900},
		{name: "over the budget: kept nowhere, pushes out nothing", entries: 10, bytes: 500, sizes: []int{200, 600},
			wantKept: []bool{true, false}, wantN: 1, wantBytes: 200},
		{name: "over maxCachedJSON: never kept", entries: 10, bytes: 1 << 20, sizes: []int{200, maxCachedJSON + 1},
			wantKept: []bool{true, false}, wantN: 1, wantBytes: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecodedCache(tc.entries, tc.bytes)
			var es []*Entry
			for i, size := range tc.sizes {
				e := testEntry(t, fmt.Sprintf("c%d", i), size)
				if len(e.object) != size {
					t.Fatalf("entry of %d bytes, want %d", len(e.object), size)
				}
				got := c.declared(e)
				if !reflect.DeepEqual(got, e.Object()) {
					t.Fatalf("declared = %v, want %v", got, e.Object())
				}
				es = append(es, e)
			}
			for i, e := range es {
				if kept := e.decoded.Load() != nil; kept != tc.wantKept[i] {
					t.Errorf("entry %d kept = %v, want %v", i, kept, tc.wantKept[i])
				}
			}
			if n, b := c.Len(); n != tc.wantN || b != tc.wantBytes {
				t.Errorf("Len = %d entries, %d bytes; want %d, %d", n, b, tc.wantN, tc.wantBytes)
			}
		})
	}
}

// TestDecodedCacheHitsShareAndNilDecodes: a kept entry is one map for
// every reader; without a cache every call decodes a map of its own.
func TestDecodedCacheHitsShareAndNilDecodes(t *testing.T) {
	e := testEntry(t, "hot", 0)
	c := NewDecodedCache(DefaultDecodedEntries, DefaultDecodedBytes)
	a, b := c.declared(e), c.declared(e)
	if reflect.ValueOf(a).UnsafePointer() != reflect.ValueOf(b).UnsafePointer() {
		t.Error("a kept entry decoded twice")
	}
	var none *DecodedCache
	x, y := none.declared(e), none.declared(e)
	if reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer() || reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(a).UnsafePointer() {
		t.Error("without a cache, readers share a map")
	}
}

// TestDecodedCacheConcurrent reads entries from many goroutines through a
// cache too small for them, so keeping and evicting race with hits (run
// with -race); every reader sees the declared manifest, and the cache's
// books balance at the end.
func TestDecodedCacheConcurrent(t *testing.T) {
	c := NewDecodedCache(8, 8*400)
	var es []*Entry
	for i := range 32 {
		es = append(es, testEntry(t, fmt.Sprintf("e%02d", i), 300))
	}
	readConcurrently(t, []*DecodedCache{c}, es, 4)
	n, b := c.Len()
	kept := 0
	for _, e := range es {
		if e.decoded.Load() != nil {
			kept++
		}
	}
	if n != kept || b != 300*kept || n > 8 {
		t.Errorf("cache holds %d entries and %d bytes, %d entries have a decoded map", n, b, kept)
	}
}

// Two caches over the same entries (serve's checkers and its namespace
// modes): an entry is kept by at most one, which alone drops it, and
// every read gets the entry's own manifest.
func TestDecodedCachesShareEntries(t *testing.T) {
	a, b := NewDecodedCache(4, 4*400), NewDecodedCache(4, 4*400)
	var es []*Entry
	for i := range 12 {
		es = append(es, testEntry(t, fmt.Sprintf("e%02d", i), 300))
	}
	readConcurrently(t, []*DecodedCache{a, b}, es, 8)
	held := map[*Entry]int{}
	for _, c := range []*DecodedCache{a, b} {
		for i := range c.n {
			held[c.ring[(c.head+i)%len(c.ring)]]++
		}
	}
	for _, e := range es {
		if n := held[e]; n > 1 {
			t.Errorf("%s is kept by %d caches", e.Key.Name, n)
		}
		if kept := e.decoded.Load() != nil; kept != (held[e] == 1) {
			t.Errorf("%s: decoded %v, held by a cache %v", e.Key.Name, kept, held[e] == 1)
		}
	}
	if len(held) == 0 {
		t.Error("neither cache kept an entry")
	}
}

// readConcurrently has readers goroutines read es, 2,000 times each, the
// g-th through caches[g%len(caches)], and fails on any manifest that is
// not the entry's own.
func readConcurrently(t *testing.T, caches []*DecodedCache, es []*Entry, readers int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, readers)
	for g := range readers {
		c := caches[g%len(caches)]
		wg.Go(func() {
			for i := range 2000 {
				e := es[(i*7+g*5)%len(es)]
				if got := c.declared(e); got["metadata"].(map[string]any)["name"] != e.Key.Name {
					errs <- fmt.Sprintf("reader got %v for %s", got["metadata"], e.Key.Name)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
