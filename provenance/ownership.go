package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/gitgate/gitgate/internal/jsonscan"
)

// Who owns a field decides what a later removal from Git leaves behind.
// Server-side apply (Flux's kustomize-controller, Argo CD's with
// ServerSideApply) removes a field the agent no longer applies only when
// the agent owned it and no other field manager does; a field whose
// ownership the agent lost, or that another manager holds too, stays when
// Git drops it. metadata.managedFields records that ownership, and a client
// may rewrite it (an update that sends managedFields, `kubectl patch
// --type=json` on /metadata/managedFields, [{}] to reset it). The API
// server itself changes it only in set ways, which are what a request may
// do (ownershipChange):
//
//   - the request's own field manager's entry: for an update, it gains
//     the fields the request changed; for an apply, it holds what was
//     applied;
//   - every other entry loses only fields the request changed, or that
//     the request's apply took over (--force-conflicts; kubectl's
//     migration of client-side apply's fields to server-side apply);
//   - "before-first-apply" appears on the first apply to an object with no
//     managedFields, and "ancient-changes" gathers the oldest update
//     entries past ten.
//
// A person's own field manager may come to own a field Git declares only
// if it is one the agent takes back: kustomize-controller merges the
// entries of every manager named kubectl… (kubectl apply, edit, patch,
// label, --server-side) and of before-first-apply into its own at each
// apply (fluxcd/kustomize-controller, ssa.ApplyCleanupOptions), so such
// ownership does not last. A server-side apply under another name
// (--field-manager=me) would keep Git's fields alive after Git drops them.

// Field managers the API server itself names.
const (
	beforeFirstApply = "before-first-apply"
	ancientChanges   = "ancient-changes"
)

// agentTakesBack reports whether the GitOps agent takes a field manager's
// entry back at its next apply: kustomize-controller's cleanup of the
// managers kubectl* and before-first-apply (prefix match, the main
// resource only).
func agentTakesBack(e *managedEntry) bool {
	return e.subresource == "" && (strings.HasPrefix(e.manager, "kubectl") || e.manager == beforeFirstApply)
}

// managedEntry is one entry of metadata.managedFields. Its field set is
// read only when the request changes the entry (fields).
type managedEntry struct {
	manager, operation, subresource, apiVersion string
	raw                                         []byte
	set                                         *fieldpath.Set
}

// id identifies an entry as the API server does: by manager, operation
// and subresource, and for updates by version too.
func (e *managedEntry) id() string {
	id := e.manager + "\x00" + e.operation + "\x00" + e.subresource
	if e.operation == string(metav1.ManagedFieldsOperationUpdate) {
		id += "\x00" + e.apiVersion
	}
	return id
}

func (e *managedEntry) String() string {
	s := fmt.Sprintf("%q (%s", e.manager, e.operation)
	if e.subresource != "" {
		s += " of " + e.subresource
	}
	return s + ")"
}

// same reports whether the request leaves the entry as it was, its time
// aside.
func (e *managedEntry) same(o *managedEntry) bool {
	return o != nil && e.apiVersion == o.apiVersion && bytes.Equal(e.raw, o.raw)
}

// fields is the entry's field set.
func (e *managedEntry) fields() (*fieldpath.Set, error) {
	if e.set == nil {
		e.set = &fieldpath.Set{}
		if len(e.raw) > 0 && string(e.raw) != "null" {
			if err := e.set.FromJSON(bytes.NewReader(e.raw)); err != nil {
				return nil, fmt.Errorf("read managedFields of %s: %w", e, err)
			}
		}
	}
	return e.set, nil
}

// managedEntries reads metadata.managedFields of an object's JSON, which
// DecodeObject skips: found with one scan, decoded alone. An object
// without them has none.
func managedEntries(raw []byte) (map[string]*managedEntry, error) {
	mf := managedFieldsJSON(raw)
	if mf == nil {
		return nil, nil
	}
	var list []struct {
		Manager, Operation, APIVersion, Subresource string
		FieldsV1                                    json.RawMessage
	}
	if err := json.Unmarshal(mf, &list); err != nil {
		return nil, fmt.Errorf("read managedFields: %w", err)
	}
	out := map[string]*managedEntry{}
	for _, f := range list {
		e := &managedEntry{manager: f.Manager, operation: f.Operation, subresource: f.Subresource, apiVersion: f.APIVersion, raw: f.FieldsV1}
		if _, ok := out[e.id()]; ok {
			// The API server never writes two.
			return nil, fmt.Errorf("managedFields names %s twice", e)
		}
		out[e.id()] = e
	}
	return out, nil
}

// managedFieldsJSON is the JSON of raw's metadata.managedFields, or nil.
func managedFieldsJSON(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"managedFields"`)) {
		return nil
	}
	s := jsonscan.Scanner{B: raw}
	var found []byte
	s.Object(func(key []byte) bool {
		if string(key) != "metadata" || s.Peek() != '{' {
			_, ok := s.Skip()
			return ok
		}
		return s.Object(func(key []byte) bool {
			v, ok := s.Skip()
			if string(key) == "managedFields" {
				found = v
			}
			return ok
		})
	})
	return found
}

// ownershipChange says how a write of a declared object changes
// metadata.managedFields otherwise than the API server would, or "".
// declared is Git's manifest in the request's version.
func (c *Checker) ownershipChange(declared map[string]any, req *Request) string {
	if req.Subresource != "" {
		return "" // the API server keeps a subresource write's managedFields
	}
	before, err := managedEntries(req.OldObjectRaw)
	if err == nil {
		var after map[string]*managedEntry
		if after, err = managedEntries(req.ObjectRaw); err == nil {
			o := ownership{c: c, req: req, declared: declared, before: before, after: after, own: fieldManagerOf(req.Options)}
			return o.change()
		}
	}
	return err.Error()
}

// fieldManagerOf reads the field manager a request names in its options;
// "" when it names none (the API server then takes it from the user
// agent).
func fieldManagerOf(options []byte) string {
	var o struct {
		FieldManager string `json:"fieldManager"`
	}
	if len(options) == 0 || json.Unmarshal(options, &o) != nil {
		return ""
	}
	return o.FieldManager
}

// ownership is one request's managedFields, before and after.
type ownership struct {
	c             *Checker
	req           *Request
	declared      map[string]any
	before, after map[string]*managedEntry
	// own is the request's field manager, when it names one.
	own string
	// err is the first field set that could not be read: refused.
	err error
}

// fields is e's field set (empty for no entry), noting a set it cannot
// read.
func (o *ownership) fields(e *managedEntry) *fieldpath.Set {
	if e == nil {
		return &fieldpath.Set{}
	}
	set, err := e.fields()
	if err != nil {
		if o.err == nil {
			o.err = err
		}
		return &fieldpath.Set{}
	}
	return set
}

func (o *ownership) change() string {
	d := o.check()
	if o.err != nil {
		return o.err.Error()
	}
	return d
}

// check reads the field sets of the entries the request changes only: an
// entry left as it was (its time aside) is the API server's doing.
func (o *ownership) check() string {
	owner, detail := o.ownEntry(o.grown())
	if detail != "" {
		return detail
	}
	taken := &fieldpath.Set{} // what the request's apply holds
	for _, id := range owner {
		if e := o.after[id]; e.operation == string(metav1.ManagedFieldsOperationApply) {
			taken = taken.Union(o.fields(e))
		}
	}
	for _, id := range sortedIDs(o.before) {
		if b := o.before[id]; !b.same(o.after[id]) {
			if d := o.lost(b, taken); d != "" {
				return d
			}
		}
	}
	return ""
}

// grown lists the entries that gained a field, moved to another version
// or appeared.
func (o *ownership) grown() []string {
	var ids []string
	for _, id := range sortedIDs(o.after) {
		a, b := o.after[id], o.before[id]
		if a.same(b) {
			continue
		}
		if b == nil || b.apiVersion != a.apiVersion || !o.fields(a).Difference(o.fields(b)).Empty() {
			ids = append(ids, id)
		}
	}
	return ids
}

// ownEntry sorts the grown entries: the request's own (by the name the
// request gives, else the one that grew), the API server's own
// bookkeeping, and any other, which is a rewrite. It checks what the own
// entries gained.
func (o *ownership) ownEntry(grown []string) (owner []string, detail string) {
	var others []string
	for _, id := range grown {
		e := o.after[id]
		switch {
		case o.own != "" && e.manager == o.own:
			owner = append(owner, id)
		case e.manager == beforeFirstApply && len(o.before) == 0 && e.subresource == "":
		case e.manager == ancientChanges && o.gathered(e):
		default:
			others = append(others, id)
		}
	}
	if o.own == "" && len(owner) == 0 && len(others) == 1 {
		owner, others = others, nil
	}
	if len(others) > 0 {
		return nil, fmt.Sprintf("the request gives fields to field manager %s, which is not the request's own", o.after[others[0]])
	}
	for _, id := range owner {
		if d := o.gained(o.after[id]); d != "" {
			return nil, d
		}
	}
	return owner, ""
}

// gained checks what the request's own entry e gained: an update's entry
// only fields the request changed; a person's manager no field Git
// declares, unless the agent takes it back.
func (o *ownership) gained(e *managedEntry) string {
	set := o.fields(e)
	gain := set
	if b := o.before[e.id()]; b != nil && b.apiVersion == e.apiVersion {
		gain = set.Difference(o.fields(b))
	}
	var bad string
	leaves := set.Leaves()
	gain.Iterate(func(p fieldpath.Path) {
		switch {
		case bad != "":
		case e.operation == string(metav1.ManagedFieldsOperationUpdate) && !o.changed(e, leaves, p):
			bad = fmt.Sprintf("field manager %s is given %s, which the request does not change", e, p)
		case !o.c.Controller && !agentTakesBack(e) && o.isDeclared(e, p):
			bad = fmt.Sprintf("field manager %s would own %s, which Git declares: the GitOps agent does not take it back, so the field would outlive its removal from Git; apply with kubectl's own field manager, or leave it to the agent", e, p)
		}
	})
	return bad
}

// gathered reports whether an ancient-changes entry holds only fields of
// update entries that the request removed, as the API server gathers the
// oldest ones past ten.
func (o *ownership) gathered(e *managedEntry) bool {
	pool := o.fields(o.before[e.id()])
	for id, b := range o.before {
		if o.after[id] == nil && b.operation == e.operation && b.apiVersion == e.apiVersion {
			pool = pool.Union(o.fields(b))
		}
	}
	return e.subresource == "" && o.fields(e).Difference(pool).Empty()
}

// lost checks what entry b, not the request's own, lost: only fields the
// request changed or its apply took over, or, for a gathered update
// entry, what ancient-changes now holds.
func (o *ownership) lost(b *managedEntry, taken *fieldpath.Set) string {
	a := o.after[b.id()]
	switch {
	case a != nil && o.own != "" && b.manager == o.own:
		return ""
	case a != nil && a.apiVersion != b.apiVersion:
		return fmt.Sprintf("the request moves field manager %s to %s", b, a.apiVersion)
	}
	set := o.fields(b)
	lost := set.Difference(o.fields(a)).Difference(taken)
	if a == nil {
		anc := &managedEntry{manager: ancientChanges, operation: b.operation, apiVersion: b.apiVersion}
		lost = lost.Difference(o.fields(o.after[anc.id()]))
	}
	var bad string
	leaves := set.Leaves()
	lost.Iterate(func(p fieldpath.Path) {
		if bad == "" && !o.changed(b, leaves, p) {
			bad = fmt.Sprintf("the request takes %s from field manager %s without changing it", p, b)
		}
	})
	return bad
}

// changed reports whether the request changes the field at p of entry e:
// a field that appears or disappears, or one of leaves (the entry's
// fields with no field of theirs below) whose value changes. A list
// element or map the entry owns as a whole changes only by appearing or
// disappearing, as the API server counts it. A field of another version
// than the request's, where only fields of the metadata read alike,
// counts as unchanged.
func (o *ownership) changed(e *managedEntry, leaves *fieldpath.Set, p fieldpath.Path) bool {
	if !o.readsAlike(e, p) {
		return false
	}
	before, had := fieldAt(o.req.OldObject, p)
	after, has := fieldAt(o.req.Object, p)
	if had != has {
		return true
	}
	return has && leaves.Has(p) && !reflect.DeepEqual(before, after)
}

// isDeclared reports whether Git declares the field at p; a field of
// another version counts as declared.
func (o *ownership) isDeclared(e *managedEntry, p fieldpath.Path) bool {
	if !o.readsAlike(e, p) {
		return true
	}
	_, ok := fieldAt(o.declared, p)
	return ok
}

// readsAlike reports whether path p of entry e reads in the request's
// objects: the same version, one that differs in apiVersion alone, or a
// field of the metadata, which every version shares.
func (o *ownership) readsAlike(e *managedEntry, p fieldpath.Path) bool {
	v := apiVersionOf(o.req.Object)
	if e.apiVersion == v || len(p) > 0 && p[0].FieldName != nil && *p[0].FieldName == "metadata" {
		return true
	}
	_, ok := o.c.inVersion(map[string]any{}, &Entry{Key: o.req.Key(), APIVersion: e.apiVersion}, v)
	return ok
}

// fieldAt follows a managedFields path into a decoded object.
func fieldAt(obj any, p fieldpath.Path) (any, bool) {
	cur := obj
	for _, pe := range p {
		var ok bool
		switch {
		case pe.FieldName != nil:
			m, _ := cur.(map[string]any)
			cur, ok = m[*pe.FieldName]
		case pe.Index != nil:
			l, _ := cur.([]any)
			if ok = *pe.Index >= 0 && *pe.Index < len(l); ok {
				cur = l[*pe.Index]
			}
		default:
			l, _ := cur.([]any)
			cur, ok = element(l, pe)
		}
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// element finds the list element a key or value path element names.
func element(l []any, pe fieldpath.PathElement) (any, bool) {
	for _, x := range l {
		if pe.Value != nil && value.Equals(value.NewValueInterface(x), *pe.Value) {
			return x, true
		}
		m, isMap := x.(map[string]any)
		if pe.Key == nil || !isMap {
			continue
		}
		match := true
		for _, f := range *pe.Key {
			v, ok := m[f.Name]
			if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
				match = false
				break
			}
		}
		if match {
			return x, true
		}
	}
	return nil, false
}

func sortedIDs(m map[string]*managedEntry) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
