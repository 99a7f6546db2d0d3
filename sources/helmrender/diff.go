package helmrender

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// markIndeterminate pairs each object of the first render with its twin
// of the second, by identity, else by chart file and rank, and marks the
// fields where they differ; an object without a twin is indeterminate as
// a whole ("").
func markIndeterminate(first, second []Object) {
	twins := map[string][]int{}
	for i, o := range second {
		twins[identity(o.Object)] = append(twins[identity(o.Object)], i)
	}
	used := make([]bool, len(second))
	var unmatched []int
	for i, o := range first {
		if js := twins[identity(o.Object)]; len(js) == 1 && !used[js[0]] {
			used[js[0]] = true
			first[i].Indeterminate = diffPaths(o.Object, second[js[0]].Object)
			continue
		}
		unmatched = append(unmatched, i)
	}
	rank := map[string][]int{}
	for j, o := range second {
		if !used[j] {
			rank[o.Source] = append(rank[o.Source], j)
		}
	}
	for _, i := range unmatched {
		src := first[i].Source
		if len(rank[src]) == 0 {
			first[i].Indeterminate = []string{""}
			continue
		}
		j := rank[src][0]
		rank[src] = rank[src][1:]
		first[i].Indeterminate = diffPaths(first[i].Object, second[j].Object)
	}
}

// markLookup marks the objects whose template file called lookup in
// either render, or every object when a call could not be tied to a file.
// It reports whether lookup was called at all.
func markLookup(objs, hooks []Object, first, second *pass) bool {
	if first.calls.lookups == 0 && second.calls.lookups == 0 {
		return false
	}
	all := first.calls.nested || second.calls.nested
	for _, list := range [][]Object{objs, hooks} {
		for i := range list {
			if all || first.calls.lookupFiles[list[i].Source] || second.calls.lookupFiles[list[i].Source] {
				list[i].Lookup = true
			}
		}
	}
	return true
}

func identity(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	s := func(v any) string { t, _ := v.(string); return t }
	return s(obj["apiVersion"]) + "/" + s(obj["kind"]) + "/" + s(meta["namespace"]) + "/" + s(meta["name"])
}

// diffPaths lists the JSON pointers where a and b differ, sorted; a list
// of another length differs as a whole.
func diffPaths(a, b any) []string {
	var out []string
	var walk func(a, b any, path string)
	walk = func(a, b any, path string) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok {
			for k := range union(am, bm) {
				walk(am[k], bm[k], path+"/"+escapePointer(k))
			}
			return
		}
		al, aok := a.([]any)
		bl, bok := b.([]any)
		if aok && bok && len(al) == len(bl) {
			for i := range al {
				walk(al[i], bl[i], path+"/"+strconv.Itoa(i))
			}
			return
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, path)
		}
	}
	walk(a, b, "")
	sort.Strings(out)
	return out
}

func union(a, b map[string]any) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
