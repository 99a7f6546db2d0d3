package provenance

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/gitgate/gitgate/provenance/compare"
)

// What a render cannot reproduce. A Helm chart may write a random token,
// the time, a generated certificate or what a lookup of the cluster
// found: the agent's render holds other values there than gitgate's, so
// Git's side says nothing of them (Entry.Indeterminate). They are not
// compared with the declared object; in exchange nobody but the agent
// may change them. A person's identical apply of what the cluster holds
// leaves them as they are and passes; a create, which chooses them, and
// an update that changes one are refused (ReasonIndeterminate), for
// controllers too: whoever sets the token of a Secret the chart
// generates knows it. The drift scan reports such objects unverifiable,
// never matching.

// ReasonIndeterminate: a write, by anyone but the agent, that sets or
// changes a field whose declared value the render cannot reproduce
// (Entry.Indeterminate): only the agent, which renders it, may.
const ReasonIndeterminate Reason = "indeterminate"

// wholeObject is the Indeterminate pointer of an object the render
// cannot reproduce at all.
const wholeObject = ""

// setIgnore compiles the entry's own ignore rules and indeterminate
// fields into one trie, refusing a malformed pointer.
func (e *Entry) setIgnore(ignore, indeterminate []string) error {
	if len(ignore) == 0 && len(indeterminate) == 0 {
		return nil
	}
	ig := &compare.Ignore{}
	for _, p := range ignore {
		segs, err := compare.ParsePointer(p)
		if err != nil {
			return fmt.Errorf("%s: ignore: %w", e.Key, err)
		}
		ig.Add(segs, false)
	}
	for _, p := range indeterminate {
		if p == wholeObject {
			continue // judged apart (checkWholeIndeterminate)
		}
		segs, err := compare.ParsePointer(p)
		if err != nil {
			return fmt.Errorf("%s: indeterminate: %w", e.Key, err)
		}
		ig.Add(segs, false)
	}
	e.ignore = ig
	e.Indeterminate = slices.Clone(indeterminate)
	return nil
}

// WholeIndeterminate reports whether the render cannot reproduce the
// object at all: nothing of it is compared, and nothing of it may change.
func (e *Entry) WholeIndeterminate() bool {
	return slices.Contains(e.Indeterminate, wholeObject)
}

// checkWholeIndeterminate decides a write of an object the render cannot
// reproduce: a create chooses every value, so it is refused; an update
// passes only when it changes nothing (outside what is ignored for every
// object, status and the server's metadata).
func (c *Checker) checkWholeIndeterminate(req *Request, entry *Entry) Result {
	if req.Operation != Update {
		return Result{Reason: ReasonIndeterminate, Entry: entry}
	}
	diffs := compare.Compare(map[string]any{}, req.OldObject, req.Object, entry.Schema, compare.Options{
		Strict: true, StrictLists: true, Ignore: c.ignoreFor(entry, false), Deadline: req.Deadline,
	})
	if len(diffs) > 0 && diffs[len(diffs)-1].Kind == compare.Incomplete {
		return Result{Reason: ReasonDeadline, Entry: entry}
	}
	if len(diffs) > 0 {
		for i := range diffs {
			// Paths only: what the agent wrote there may be a secret.
			diffs[i].Git, diffs[i].Request, diffs[i].Old = nil, nil, nil
		}
		return Result{Reason: ReasonIndeterminate, Entry: entry, Diffs: diffs}
	}
	return Result{Allowed: true, Reason: ReasonMatchesGit, Entry: entry}
}

// indeterminateDiffs lists the indeterminate fields of entry that obj
// sets (a create) or changes from old (an update), by path, never with a
// value: a value there is the agent's alone.
func indeterminateDiffs(entry *Entry, old, obj map[string]any) []compare.Diff {
	var diffs []compare.Diff
	for _, p := range entry.Indeterminate {
		segs, err := compare.ParsePointer(p)
		if err != nil {
			continue // setIgnore refused it
		}
		path, now, set := pointerValue(obj, segs)
		if old == nil {
			if set {
				diffs = append(diffs, compare.Diff{Path: path, Kind: compare.Undeclared})
			}
			continue
		}
		oldPath, before, was := pointerValue(old, segs)
		if set != was || !reflect.DeepEqual(now, before) {
			if !set {
				path = oldPath
			}
			diffs = append(diffs, compare.Diff{Path: path, Kind: compare.Undeclared})
		}
	}
	slices.SortFunc(diffs, func(a, b compare.Diff) int { return a.Path.Compare(b.Path) })
	return diffs
}

// pointerValue follows the pointer segments segs into obj, list elements by
// position, and returns the path it walked (as far as it got), the value
// and whether it is there.
func pointerValue(obj map[string]any, segs []string) (compare.Path, any, bool) {
	var path compare.Path
	var cur any = obj
	for _, s := range segs {
		switch v := cur.(type) {
		case map[string]any:
			path = append(path, compare.Step{Field: s, Index: -1})
			next, ok := v[s]
			if !ok {
				return path, nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 {
				return path, nil, false
			}
			path = append(path, compare.Step{Index: i})
			if i >= len(v) {
				return path, nil, false
			}
			cur = v[i]
		default:
			path = append(path, compare.Step{Field: s, Index: -1})
			return path, nil, false
		}
	}
	return path, cur, true
}

// IdentityIndeterminate reports whether the JSON pointers a render could
// not reproduce (File.Indeterminate) reach the object's kind, name or
// namespace, or the whole object: its key is not known, so it cannot be
// declared.
func IdentityIndeterminate(indeterminate []string) bool {
	for _, p := range indeterminate {
		switch p {
		case wholeObject, "/apiVersion", "/kind", "/metadata", "/metadata/name", "/metadata/namespace":
			return true
		}
	}
	return false
}
