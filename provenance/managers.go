package provenance

import (
	"slices"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Argo CD's ignoreDifferences.managedFieldsManagers (v3.6.2,
// util/argo/managedfields Normalize, called from util/argo/diff
// preDiffNormalize): structured-merge-diff compares the live object with
// Git's manifest, and of the fields it finds in both with different values
// ("Modified": not those Git declares and the object lacks, nor those Git
// leaves out) it drops from the diff the ones that an entry of the live
// object's metadata.managedFields owns whose manager is one of those
// listed, by exact name, whatever the entry's operation or subresource.
//
// gitgate reads the same in a controller's write (Checker.Controller; never
// a person's): the request's object is the live object after the write, its
// managedFields computed by the API server before validating admission
// runs. A diff is free when it is a Mismatch (Git declares the field, the
// object holds another value) and the union of the listed managers' entries
// owns that field itself, or the list without merge keys that holds it as
// a whole (an atomic list: a member with no children), as
// structured-merge-diff compares such a list.
//
// A field manager's name is the caller's own claim (--field-manager, or
// its user agent), and ownershipChange bounds what a write may claim: only
// the request's own manager's entry gains fields, and an update's entry
// only fields the request changes. So a listed manager owns a field in the
// written object only if it owned it before, or the request itself, under
// that name, changed it. Asking also for ownership in the stored object
// would refuse every operator's first write of a field; asking that the
// request's own manager be listed would refuse every other controller's
// write of the object while a listed manager's value stands, which Argo CD
// leaves alone too; neither would narrow who may claim the name. What the
// name trusts
// is therefore every identity judged as a controller (any service
// account's token): each may change, under a listed name, any declared
// value of the objects the rule names, except where it never may
// (managerKept). An empty name is never listed, and an entry of another
// apiVersion than the request's is not read (its paths may mean other
// fields).

// managerKept are the fields no field manager's ownership frees: the
// lifecycle of the object (ownerReferences, finalizers) and gitgate's own
// Namespace label, besides the paths a controller may never change
// (Checker.strictUnder: what a workload runs, where a Service's traffic
// goes) and the agent's marks (withMarks restores their diffs); a GitOps
// object or a root's input never reaches managerFreed.
var managerKept = [][]string{
	{"metadata", "ownerReferences"},
	{"metadata", "finalizers"},
	{"metadata", "labels", ModeLabel},
}

// serviceRouteKept are a Service's fields no field manager's ownership
// frees besides those a controller may never change (controllerProtected):
// which Pods get its traffic, and on which ports.
var serviceRouteKept = [][]string{
	{"spec", "selector"},
	{"spec", "ports"},
}

// managerKeptGroups, managerKeptKinds and managerKeptNamespaces are the
// objects of which a field manager's ownership frees nothing: who may do
// what (RBAC, and EKS's aws-auth among kube-system's objects), who may
// reach whom and where traffic goes (NetworkPolicies, Ingresses, Gateway
// API routes), what the API server itself calls or serves (admission
// webhooks, CRDs, aggregated APIs), credentials and workload identities
// (Secrets, ServiceAccounts and their cloud role annotations, certificate
// issuers and requests), the cluster's policies (Kyverno, Gatekeeper),
// and Namespaces (their Pod Security labels). A listed name is anyone's
// claim; these stay Git's for every controller. It is a deny-list: a rule
// for every kind (`kind: "*"`) still frees the declared values of any
// other object its listed managers own.
var (
	managerKeptGroups = []string{
		"rbac.authorization.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
		"networking.k8s.io", "gateway.networking.k8s.io", "certificates.k8s.io", "cert-manager.io",
		"kyverno.io", "templates.gatekeeper.sh", "constraints.gatekeeper.sh", "mutations.gatekeeper.sh",
	}
	managerKeptKinds      = []struct{ group, kind string }{{"", "Secret"}, {"", "ServiceAccount"}, {"", "Namespace"}}
	managerKeptNamespaces = []string{"kube-system"}
)

// managerKeptKind reports an object of which managers free nothing.
func managerKeptKind(k Key) bool {
	if slices.Contains(managerKeptGroups, k.Group) || slices.Contains(managerKeptNamespaces, k.Namespace) {
		return true
	}
	return slices.ContainsFunc(managerKeptKinds, func(gk struct{ group, kind string }) bool { return gk.group == k.Group && gk.kind == k.Kind })
}

// managerFreed drops from diffs the changed declared values that entry's
// listed field managers own in the request's object, for a controller's
// write of an object that is neither a root's input nor a GitOps object
// (keptObject: both stay Git's).
func (c *Checker) managerFreed(entry *Entry, req *Request, keptObject bool, diffs []compare.Diff) []compare.Diff {
	if !c.Controller || keptObject || len(entry.controllerManagers) == 0 || req.ObjectRaw == nil || req.Subresource != "" || managerKeptKind(entry.Key) ||
		!slices.ContainsFunc(diffs, func(d compare.Diff) bool { return d.Kind == compare.Mismatch }) {
		return diffs
	}
	owned := ownedBy(entry.controllerManagers, req)
	if owned.Empty() {
		return diffs
	}
	kept := append(slices.Clone(managerKept), c.strictUnder(entry.Key)...)
	if entry.Key.Group == "" && entry.Key.Kind == "Service" {
		kept = append(kept, serviceRouteKept...)
	}
	var out []compare.Diff
	for _, d := range diffs {
		if d.Kind == compare.Mismatch && !IsAgentMark(d.Path) && !underAny(d.Path, kept) && ownsValue(owned, req.Object, d.Path) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// ownedBy is the union of the fields that the entries of managers own in
// the request's object, read in the request's version. An entry that
// cannot be read frees nothing (ownershipChange has refused the write
// already).
func ownedBy(managers []string, req *Request) *fieldpath.Set {
	owned := &fieldpath.Set{}
	entries, err := managedEntries(req.ObjectRaw)
	if err != nil {
		return owned
	}
	v := apiVersionOf(req.Object)
	for _, id := range sortedIDs(entries) {
		e := entries[id]
		if e.manager == "" || !slices.Contains(managers, e.manager) || e.apiVersion != v {
			continue
		}
		if set, err := e.fields(); err == nil {
			owned = owned.Union(set)
		}
	}
	return owned
}

// ownsValue reports whether set owns the value at p in obj as
// structured-merge-diff sees a change of it: the field itself, or the
// list without merge keys holding it, owned whole. An element of a list
// is never changed (keyed or a set's value, it is added or removed).
func ownsValue(set *fieldpath.Set, obj any, p compare.Path) bool {
	cur := obj
	for i, st := range p {
		pe, next, ok := pathElement(set, cur, st)
		if !ok {
			return false
		}
		cur = next
		child, hasChild := set.Children.Get(pe)
		if i == len(p)-1 || byPosition(p[i+1]) {
			// Owned whole: a member with nothing of it owned apart (a
			// map's or a set's "." with children is its existence only).
			return pe.FieldName != nil && set.Members.Has(pe) && (!hasChild || child.Empty())
		}
		if !hasChild {
			return false
		}
		set = child
	}
	return false
}

// pathElement is the managedFields path element of step st in cur (a
// keyed element found among set's children by its key values), and the
// value there.
func pathElement(set *fieldpath.Set, cur any, st compare.Step) (fieldpath.PathElement, any, bool) {
	if st.KeyName == "" {
		if byPosition(st) {
			return fieldpath.PathElement{}, nil, false // reached only through an atomic list, above
		}
		m, isMap := cur.(map[string]any)
		name := st.Field
		return fieldpath.PathElement{FieldName: &name}, m[name], isMap
	}
	l, _ := cur.([]any)
	if st.Index < 0 || st.Index >= len(l) {
		return fieldpath.PathElement{}, nil, false
	}
	elem := l[st.Index]
	// Iterate, not a range over All(): structured-merge-diff's All does
	// not stop when the loop body returns.
	var found *fieldpath.PathElement
	set.Children.Iterate(func(pe fieldpath.PathElement) {
		if found == nil && pe.Key != nil && keyMatches(*pe.Key, elem) {
			found = &pe
		}
	})
	if found == nil {
		return fieldpath.PathElement{}, nil, false
	}
	return *found, elem, true
}

// byPosition reports a step into a list without merge keys, by position.
func byPosition(st compare.Step) bool {
	return st.Field == "" && st.KeyName == "" && st.Index >= 0
}

// keyMatches reports whether elem holds every key field's value.
func keyMatches(key value.FieldList, elem any) bool {
	m, isMap := elem.(map[string]any)
	if !isMap || len(key) == 0 {
		return false
	}
	for _, f := range key {
		v, ok := m[f.Name]
		if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
			return false
		}
	}
	return true
}

// underAny reports whether p lies at or below one of the field paths.
func underAny(p compare.Path, paths [][]string) bool {
	for _, q := range paths {
		if len(p) < len(q) {
			continue
		}
		match := true
		for i, f := range q {
			if p[i].Field != f || p[i].KeyName != "" {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
