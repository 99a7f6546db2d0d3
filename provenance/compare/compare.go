package compare

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// DiffKind says how a field disagrees with Git.
type DiffKind int

const (
	// Mismatch: Git declares the field and the request has another value.
	Mismatch DiffKind = iota
	// Missing: Git declares the field, or a keyed list element, and the
	// request lacks it.
	Missing
	// Undeclared: the request changes a field Git does not declare (strict
	// mode, updates only).
	Undeclared
	// Incomplete: the comparison ran past Options.Deadline and stopped;
	// the object was not fully compared.
	Incomplete
	// Unproven: a strict update adds a subtree the stored object lacks
	// (a container Git just added, a securityContext Git's new revision
	// declares) and sets a field there that Git does not declare. Only
	// the API server's defaults for Git's manifest can tell a default
	// from an addition, and Options.Defaults was not given: compare again
	// with them.
	Unproven
)

// String names the kind as the constant does.
func (k DiffKind) String() string {
	switch k {
	case Mismatch:
		return "Mismatch"
	case Missing:
		return "Missing"
	case Undeclared:
		return "Undeclared"
	case Incomplete:
		return "Incomplete"
	case Unproven:
		return "Unproven"
	}
	return "DiffKind(" + strconv.Itoa(int(k)) + ")"
}

// Diff is one place where a request disagrees with Git.
type Diff struct {
	Path Path
	Kind DiffKind
	// Git is the declared value (nil for Undeclared); Request is the value in
	// the request object; Old is the value before an update.
	Git, Request, Old any
	// Added marks an Undeclared field inside a subtree the update adds:
	// the stored object had nothing there, and Old is what the API
	// server's defaults for Git's manifest hold at that place (nil: none).
	Added bool
}

// Options control a comparison.
type Options struct {
	// Strict denies updates that change fields Git does not declare.
	Strict bool
	// Ignore lists paths that are never compared.
	Ignore *Ignore
	// MaxDiffs caps the diffs reported; 0 means 64. Comparison stops early
	// once the cap is reached, the verdict is already known.
	MaxDiffs int
	// StrictLists denies elements that Git does not declare in a list that
	// merges by key (a container, a volume, an env var) also where
	// undeclared fields are otherwise free: on create, and inside a subtree
	// an update adds. No defaulting adds such elements, but a person who
	// creates a declared Deployment before the GitOps agent could add a
	// privileged container that the agent's server-side apply would never
	// remove.
	StrictLists bool
	// Deadline, when set, stops the comparison of a hostile object: past
	// it, Compare ends with a Diff of kind Incomplete.
	Deadline time.Time
	// StrictUnder lists field paths (e.g. spec.template.spec) below which
	// the comparison is strict, with strict lists, whatever Strict says:
	// what a workload runs, for callers who may otherwise change what Git
	// does not declare.
	StrictUnder [][]string
	// Defaults is Git's manifest as the API server creates it (a dry run),
	// decoded as the request is; nil when not known. Where a strict update
	// adds a subtree the stored object lacks, what Git does not declare
	// there must be what Defaults holds at the same place; without
	// Defaults, such a field is a Diff of kind Unproven.
	Defaults map[string]any
}

// Compare reports where obj disagrees with the declared manifest. For an
// update, pass the stored object as old; for a create, pass nil.
//
// Every field that Git declares must hold an equal value in obj after
// normalization (see equal). Fields Git does not declare are free on create,
// where the API server's defaulting and mutating admission add many. On
// update in strict mode, a change between old and obj outside Git's declared
// fields is a Diff of kind Undeclared; inside a subtree the update adds, so
// is a field Git does not declare that differs from opts.Defaults (Unproven
// without them).
func Compare(declared, old, obj map[string]any, s *Schema, opts Options) []Diff {
	w := walker{strict: opts.Strict && old != nil, strictLists: opts.StrictLists, max: opts.MaxDiffs, deadline: opts.Deadline,
		update: old != nil, strictUnder: opts.StrictUnder, defaults: opts.Defaults}
	if w.max <= 0 {
		w.max = 64
	}
	w.walk(declared, old, obj, s, opts.Ignore)
	sortDiffs(w.diffs)
	if w.expired {
		w.diffs = append(w.diffs, Diff{Kind: Incomplete})
	}
	return w.diffs
}

// sortDiffs puts diffs in path order. The walk visits maps in Go's random
// order: sorted, the same request is always described the same way. The
// sort is stable, so repeated keys of a list keep their order.
func sortDiffs(d []Diff) {
	slices.SortStableFunc(d, func(a, b Diff) int { return a.Path.Compare(b.Path) })
}

// walker carries the state of one comparison. The path is a stack that
// grows and shrinks with the walk and is copied only into a Diff, so the
// common case, an object that agrees with Git, allocates nothing per field.
type walker struct {
	strict      bool
	strictLists bool
	max         int
	diffs       []Diff
	path        []frame
	// keybuf is scratch space for the merge key values of keyed lists.
	keybuf []any
	// linearOnly never indexes keyed lists: the reference path that tests
	// hold the indexed one to.
	linearOnly bool
	// update and strictUnder: see Options.StrictUnder.
	update      bool
	strictUnder [][]string
	// added: the walk is inside a subtree a strict update adds (see
	// walk); defaults: Options.Defaults.
	added    bool
	defaults map[string]any
	// deadline, visits and expired bound the walk in time; the clock is
	// read once every deadlineEvery nodes.
	deadline time.Time
	visits   int
	expired  bool
}

// deadlineEvery is how many nodes the walk visits between two looks at the
// clock: a few microseconds of work.
const deadlineEvery = 1024

func (w *walker) full() bool {
	if w.expired || len(w.diffs) >= w.max {
		return true
	}
	if w.visits++; w.visits%deadlineEvery == 0 && !w.deadline.IsZero() && time.Now().After(w.deadline) {
		w.expired = true
	}
	return w.expired
}

func (w *walker) report(kind DiffKind, git, req, old any) {
	w.reportDiff(Diff{Kind: kind, Git: git, Request: req, Old: old})
}

// reportDiff adds d at the walk's path.
func (w *walker) reportDiff(d Diff) {
	if w.full() {
		return
	}
	d.Path = make(Path, len(w.path))
	for i, f := range w.path {
		d.Path[i] = f.step()
	}
	w.diffs = append(w.diffs, d)
}

// frame is one level of the walk. It is smaller than a Step: a keyed list
// element keeps its list's schema and the element, and its key is rendered
// to text only when a Diff or an ignore rule needs it.
type frame struct {
	field string
	list  *Schema
	elem  map[string]any
	// index is the element's position in the request (-1 for a map
	// field); ord counts the elements before a keyed one with its key
	// (keyedSide.ordinal), by which defaultAt finds its counterpart. Both
	// fit in 32 bits (a request is at most a few MiB), so a frame is no
	// larger for them.
	index, ord int32
}

func (f frame) step() Step {
	st := Step{Field: f.field, Index: int(f.index)}
	if f.list != nil {
		st.KeyName, st.KeyValue = renderKey(f.list.keys, f.elem)
	}
	return st
}

func renderKey(keys []string, elem map[string]any) (name, value string) {
	if len(keys) == 1 {
		return keys[0], scalarString(elem[keys[0]])
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = scalarString(elem[k])
	}
	return strings.Join(keys, ","), strings.Join(vals, ",")
}

func (w *walker) push(f frame) { w.path = append(w.path, f) }
func (w *walker) pop()         { w.path = w.path[:len(w.path)-1] }

// field descends into map key k.
func (w *walker) field(k string, decl, old, obj any, s *Schema, ig *Ignore) {
	if len(w.strictUnder) > 0 && w.entersStrictPath(k) {
		strict, lists := w.strict, w.strictLists
		w.strict, w.strictLists = w.update, true
		defer func() { w.strict, w.strictLists = strict, lists }()
	}
	if w.strictLists && k == "metadata" && len(w.path) == 0 {
		// Strict lists guard what an object runs (containers, volumes).
		// The keyed list of metadata, ownerReferences, is a matter of
		// lifecycle, which the caller judges by who asks.
		w.strictLists = false
		defer func() { w.strictLists = true }()
	}
	fs := s.Field(k)
	if fs == nil {
		fs = conventionalSchema(k)
	}
	w.push(frame{field: k, index: -1})
	w.walk(decl, old, obj, fs, ig.field(k))
	w.pop()
}

// conventionalSelector stands in for the schema of a field that no schema
// describes (a custom resource whose CRD is not in Git, or a CRD field
// without x-kubernetes-map-type) but whose name says it is a label
// selector: podSelector, endpointSelector, matchLabels. Such a field
// compares as a whole, so a `nobody: ""` added to a CiliumNetworkPolicy's
// endpointSelector is a difference, as it is in a NetworkPolicy.
var conventionalSelector = &Schema{atomic: true}

// conventionalSelectors stands in for a list of selectors, such as a
// CiliumNetworkPolicy's fromEndpoints: each element compares as a whole,
// so `[{}]` (every endpoint) cannot be narrowed to nothing.
var conventionalSelectors = &Schema{elem: conventionalSelector}

// conventionalSchema is the schema Kubernetes' API conventions imply for a
// field named k that no schema describes, or nil.
func conventionalSchema(k string) *Schema {
	switch {
	case k == "selector" || k == "matchLabels" || strings.HasSuffix(k, "Selector"):
		return conventionalSelector
	case strings.HasSuffix(k, "Selectors") || strings.HasSuffix(k, "Endpoints") || k == "fromRequires" || k == "toRequires":
		return conventionalSelectors
	}
	return nil
}

// selectorShaped reports a map that can only be a label selector: it has
// matchLabels or matchExpressions and nothing else.
func selectorShaped(m map[string]any) bool {
	for k := range m {
		if k != "matchLabels" && k != "matchExpressions" {
			return false
		}
	}
	return len(m) > 0
}

// walk compares one node. decl is nil where Git declares nothing.
func (w *walker) walk(decl, old, obj any, s *Schema, ig *Ignore) {
	// A declared empty value ("", {}) does not pin an API-allocated field:
	// clusterIP: "" asks the API server to allocate one.
	if w.full() || ig.skips(decl != nil && !isEmpty(decl), present(obj, old)) {
		return
	}
	if w.strict && old == nil && !isEmpty(decl) && !w.added {
		// A declared subtree the object did not have yet (a container Git
		// just added, a securityContext Git's new revision declares) is
		// being created by this update, before the agent applies it. What
		// Git declares there is held to Git, as everywhere; what it does
		// not may only be the API server's default for Git's manifest
		// (undeclared, with defaultAt): the agent's server-side apply keeps
		// fields another manager set, so anything more would stay, unseen.
		w.added = true
		defer func() { w.added = false }()
	}
	switch d := decl.(type) {
	case nil:
		w.undeclared(old, obj, s, ig)
	case map[string]any:
		w.declaredMap(d, old, obj, s, ig)
	case []any:
		if keys := s.Keys(); len(keys) > 0 && allMaps(d) {
			w.keyedList(d, old, obj, s, keys, ig)
			return
		}
		w.atomicList(d, old, obj, s, ig)
	default:
		if obj == nil && isEmpty(decl) && !s.OmitsZero() {
			// Git pins a zero value (automountServiceAccountToken: false)
			// of a field where absent means something else.
			w.report(Missing, decl, nil, old)
		} else if !semanticEqual(decl, obj, s) {
			w.report(mismatchKind(obj), decl, obj, old)
		}
	}
}

// declaredMap compares a map Git declares.
func (w *walker) declaredMap(decl map[string]any, old, obj any, s *Schema, ig *Ignore) {
	if s.IsAtomic() || s == nil && selectorShaped(decl) {
		// A label selector means what it says as a whole: an empty one
		// selects everything, an extra matchLabels entry selects less.
		if !atomicEqual(decl, obj, s) {
			w.report(mismatchKind(obj), decl, obj, old)
		}
		return
	}
	if len(decl) == 0 {
		// An empty map declares the field's existence, not its content:
		// emptyDir: {} must stay, or the volume could become a hostPath.
		// Only maps the API server drops when empty (nodeSelector: {})
		// may be absent.
		if obj == nil && !s.OmitsZero() {
			w.report(Missing, decl, nil, old)
			return
		}
		w.undeclared(old, obj, s, ig)
		return
	}
	objMap, _ := obj.(map[string]any)
	if obj != nil && objMap == nil {
		w.report(Mismatch, decl, obj, old)
		return
	}
	oldMap, _ := old.(map[string]any)
	if w.strict {
		w.strictFields(decl, oldMap, objMap, s, ig)
		return
	}
	for k, dv := range decl {
		w.field(k, dv, lookup(oldMap, k), lookup(objMap, k), s, ig)
	}
	if len(w.strictUnder) > 0 {
		w.towardStrict(decl, oldMap, objMap, s, ig)
	}
	if w.strictLists {
		// Keyed lists Git does not declare here at all (initContainers,
		// volumes) are not free either.
		for k, v := range objMap {
			if _, ok := decl[k]; !ok && len(s.Field(k).Keys()) > 0 {
				w.field(k, nil, lookup(oldMap, k), v, s, ig)
			}
		}
	}
}

// present is the request's value, or the stored one where the request
// removes it: what an ignore rule's shape judges.
func present(obj, old any) any {
	if obj != nil {
		return obj
	}
	return old
}

// entersStrictPath reports whether descending into k reaches one of
// strictUnder's paths.
func (w *walker) entersStrictPath(k string) bool {
	for _, p := range w.strictUnder {
		if len(p) != len(w.path)+1 || p[len(p)-1] != k {
			continue
		}
		if w.startsPath(p) {
			return true
		}
	}
	return false
}

func mismatchKind(obj any) DiffKind {
	if obj == nil {
		return Missing
	}
	return Mismatch
}

// undeclared handles a subtree Git does not declare: free, unless strict mode
// and the request changes it. It descends to name the deepest changed field.
func (w *walker) undeclared(old, obj any, s *Schema, ig *Ignore) {
	if !w.strict {
		if len(w.strictUnder) > 0 {
			// A protected subtree may lie below this undeclared one.
			objMap, _ := obj.(map[string]any)
			oldMap, _ := old.(map[string]any)
			w.towardStrict(nil, oldMap, objMap, s, ig)
		}
		if w.strictLists && old == nil && len(s.Keys()) > 0 && !s.defaulted {
			// initContainers or volumes Git does not declare at all: every
			// element is an extra one, unless an ignore rule frees it.
			if l, ok := obj.([]any); ok && len(l) > 0 && allMaps(l) {
				w.keyedList(nil, nil, l, s, s.Keys(), ig)
			}
		}
		return
	}
	if w.added && old == nil {
		if obj == nil {
			return
		}
		// Inside a subtree the update adds, the API server's default is
		// what the object may hold (nil where there is none, or it is not
		// known): the walk below compares with it as with a stored value.
		old = w.defaultAt()
	}
	if exactEqual(old, obj) {
		return
	}
	// A map that appears or disappears is reported as a whole, unless
	// ignored fields lie inside it (kubectl's last-applied annotation), which
	// must stay free.
	objMap, objIsMap := obj.(map[string]any)
	oldMap, oldIsMap := old.(map[string]any)
	if objIsMap && oldIsMap || ig != nil && (objIsMap && old == nil || oldIsMap && obj == nil) {
		w.undeclaredFields(oldMap, objMap, s, ig)
		return
	}
	objList, objIsList := obj.([]any)
	oldList, oldIsList := old.([]any)
	// A keyed list that appears is judged element by element where an
	// ignore rule may free some (Reloader's STAKATER_* env var).
	if keys := s.Keys(); len(keys) > 0 && objIsList && (oldIsList || old == nil && ig != nil) && allMaps(objList) && allMaps(oldList) {
		w.keyedList(nil, oldList, objList, s, keys, ig)
		return
	}
	w.reportUndeclared(obj, old)
}

// reportUndeclared reports obj, which Git does not declare, replacing old.
// Inside a subtree the update adds, old is the API server's default: a
// difference is an addition, or Unproven while the defaults are unknown.
func (w *walker) reportUndeclared(obj, old any) {
	switch {
	case !w.added:
		w.report(Undeclared, nil, obj, old)
	case w.defaults != nil:
		w.reportDiff(Diff{Kind: Undeclared, Request: obj, Old: old, Added: true})
	default:
		w.report(Unproven, nil, obj, nil)
	}
}

// strictFields compares a declared map in strict mode: declared keys with
// Git, the rest between old and obj. One pass over obj serves both, since
// in strict mode every key of obj is visited anyway.
func (w *walker) strictFields(decl, oldMap, objMap map[string]any, s *Schema, ig *Ignore) {
	matched, kept := 0, 0
	for k, v := range objMap {
		ov, had := oldMap[k]
		if had {
			kept++
		}
		if dv, ok := decl[k]; ok {
			matched++
			w.field(k, dv, ov, v, s, ig)
			continue
		}
		// Both sides come from the API server in canonical form, so a plain
		// comparison settles the common case without the schema or a path.
		if had && exactEqual(ov, v) {
			continue
		}
		w.field(k, nil, ov, v, s, ig)
	}
	if matched < len(decl) {
		for k, dv := range decl {
			if _, ok := objMap[k]; !ok {
				w.field(k, dv, lookup(oldMap, k), nil, s, ig)
			}
		}
	}
	if kept < len(oldMap) {
		w.removedFields(decl, oldMap, objMap, s, ig)
	}
}

// undeclaredFields checks, in strict mode, a map Git does not declare at
// all: added, changed or removed keys between old and obj.
func (w *walker) undeclaredFields(oldMap, objMap map[string]any, s *Schema, ig *Ignore) {
	kept := 0
	for k, v := range objMap {
		ov, had := oldMap[k]
		if had {
			kept++
			if exactEqual(ov, v) {
				continue
			}
		}
		w.field(k, nil, ov, v, s, ig)
	}
	if kept < len(oldMap) {
		w.removedFields(nil, oldMap, objMap, s, ig)
	}
}

// removedFields reports keys of old that obj no longer has and Git does not
// declare. Inside a subtree the update adds, old is the API server's
// default, and a request without it adds nothing.
func (w *walker) removedFields(decl, oldMap, objMap map[string]any, s *Schema, ig *Ignore) {
	if w.added {
		return
	}
	for k, v := range oldMap {
		if _, ok := objMap[k]; ok {
			continue
		}
		if _, ok := decl[k]; !ok {
			w.field(k, nil, v, nil, s, ig)
		}
	}
}

// atomicList compares a list that does not merge by key. Git owns the whole
// list: it must have as many elements as Git declares. Each element is
// compared position by position with the same declared-fields rule as the
// rest of the object, because defaulting reaches into list elements too (an
// RBAC subject gains apiGroup, a volumeClaimTemplate gains status).
func (w *walker) atomicList(decl []any, old, obj any, s *Schema, ig *Ignore) {
	objList, isList := obj.([]any)
	if len(decl) != len(objList) || obj != nil && !isList {
		w.report(mismatchKind(obj), decl, obj, old)
		return
	}
	oldList, _ := old.([]any)
	es := s.Elem()
	for i, de := range decl {
		var oldElem any
		if len(oldList) == len(objList) {
			oldElem = oldList[i]
		}
		w.push(frame{index: int32(i)})
		w.walk(de, oldElem, objList[i], es, ig.element("", i))
		w.pop()
	}
}

func allMaps(l []any) bool {
	for _, e := range l {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return true
}

func lookup(m map[string]any, k string) any {
	if m == nil {
		return nil
	}
	return m[k]
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(v)
	default:
		if f, ok := toFloat(v); ok {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return ""
	}
}
