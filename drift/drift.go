// Package drift compares the live cluster with what Git declares now:
// every declared object is missing, differs (at which field paths) or
// matches, and optionally the objects in managed namespaces Git does not
// declare. It reads the cluster through a small Live interface and never
// writes to it; a report names field paths only, never values, so a
// Secret's data cannot leak through it.
package drift

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
)

// State is what became of one object.
type State string

// States of an object.
const (
	Missing    State = "missing"
	Differs    State = "differs"
	Matches    State = "matches"
	Undeclared State = "undeclared"
	// Unreadable: gitgate could not read the object (RBAC refused, or the
	// API server failed), so nothing is known of it.
	Unreadable State = "unreadable"
	// Unverifiable: the object exists and agrees with Git wherever Git
	// can say, but Git cannot say what some of it must hold: fields the
	// render cannot reproduce (a random token, the clock, a lookup;
	// Fields names them), or an object only the agent writes (values Git
	// holds encrypted, a Helm hook or release record). Never "matches";
	// not drift either.
	Unverifiable State = "unverifiable"
)

// States lists every state, for metrics with bounded labels.
var States = []State{Missing, Differs, Matches, Undeclared, Unreadable, Unverifiable}

// Object is one object's state.
type Object struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	State     State  `json:"state"`
	// Path is the file in Git that declares the object.
	Path string `json:"path,omitempty"`
	// Fields are the paths where the live object disagrees with Git.
	Fields []string `json:"fields,omitempty"`
	// Reason says why an unreadable object could not be read.
	Reason string `json:"reason,omitempty"`
}

// Key is the object's key in the snapshot.
func (o Object) Key() provenance.Key {
	return provenance.Key{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Report is the state of every object at one revision.
type Report struct {
	Revision string   `json:"revision"`
	Objects  []Object `json:"objects"`
}

// Drifted reports whether any object is not as Git declares it: neither
// matching nor unverifiable.
func (r *Report) Drifted() bool {
	for _, o := range r.Objects {
		if o.Drifted() {
			return true
		}
	}
	return false
}

// Drifted reports whether the object is not as Git declares it.
func (o Object) Drifted() bool { return o.State != Matches && o.State != Unverifiable }

// Count tallies objects by state and kind.
func (r *Report) Count() map[State]map[string]int {
	out := map[State]map[string]int{}
	for _, o := range r.Objects {
		if out[o.State] == nil {
			out[o.State] = map[string]int{}
		}
		out[o.State][schema.GroupKind{Group: o.Group, Kind: o.Kind}.String()]++
	}
	return out
}

// Live reads the cluster.
type Live interface {
	// Get returns the live object of a declared one, nil when it does
	// not exist.
	Get(ctx context.Context, e *provenance.Entry) (map[string]any, error)
	// List returns the objects of a kind in a namespace.
	List(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]map[string]any, error)
}

// Options choose what Compare looks at.
type Options struct {
	// Checker compares a live object with Git as a create of it would be
	// compared: every declared field must hold, and in strict mode no
	// keyed-list element (a container, a volume) may be added. Compare
	// judges with the controller rule for finalizers: controllers (Flux
	// on its own objects, Kubernetes on Namespaces) add them, and that is
	// not drift.
	Checker *provenance.Checker
	// Namespace limits the report to one namespace; empty is all.
	Namespace string
	// Undeclared also lists objects in managed namespaces, of the kinds
	// Git declares there, that Git does not declare.
	Undeclared bool
}

// Compare reads every declared object from the cluster and compares it
// with Git. An object it cannot read is reported unreadable, and the
// others still are compared; only the end of ctx stops it, since past
// that every read fails.
func Compare(ctx context.Context, snap *provenance.Snapshot, live Live, opts Options) (*Report, error) {
	r := &Report{Revision: snap.Revisions()}
	checker := *opts.Checker
	checker.Controller = true
	rd := newReader(live)
	for _, e := range snap.Entries() {
		if opts.Namespace != "" && e.Key.Namespace != opts.Namespace {
			continue
		}
		o, err := compareOne(ctx, snap, rd, &checker, e)
		if err != nil {
			return nil, err
		}
		if o.State != "" {
			r.Objects = append(r.Objects, o)
		}
	}
	if opts.Undeclared {
		extra, err := undeclared(ctx, snap, live, opts.Namespace)
		if err != nil {
			return nil, err
		}
		r.Objects = append(r.Objects, extra...)
	}
	return r, nil
}

func compareOne(ctx context.Context, snap *provenance.Snapshot, rd *reader, c *provenance.Checker, e *provenance.Entry) (Object, error) {
	o := Object{Group: e.Key.Group, Kind: e.Key.Kind, Namespace: e.Key.Namespace, Name: e.Key.Name, Path: e.Origin()}
	obj, err := rd.read(ctx, e)
	if ctx.Err() != nil {
		return o, fmt.Errorf("read %s: %w", e.Key, ctx.Err())
	}
	if err != nil {
		o.State, o.Reason = Unreadable, unreadable(err)
		return o, nil
	}
	switch {
	case obj == nil && e.Transient:
		// The agent made it for an action and removed it since (a hook),
		// or pruned an old record: no drift, and nothing to report.
		return Object{}, nil
	case obj == nil:
		o.State = Missing
		return o, nil
	case e.AgentOnly && !(e.Transient && declaresContent(e.Object())):
		// Only its identity is declared (a Helm hook, a release record),
		// or its values are encrypted: nothing to compare.
		o.State = Unverifiable
		return o, nil
	case e.Transient:
		// A hook declared whole (an Argo CD hook): its content is compared
		// as a sync agent's write of it is.
		sync := *c
		sync.SyncAgent = true
		c = &sync
	}
	gv, _ := schema.ParseGroupVersion(e.APIVersion)
	res := c.Check(snap, &provenance.Request{
		Operation: provenance.Create, Group: e.Key.Group, Version: gv.Version, Kind: e.Key.Kind,
		Namespace: e.Key.Namespace, Name: e.Key.Name, Object: obj,
	})
	o.State = Matches
	switch {
	case res.Reason == provenance.ReasonIndeterminate, res.Allowed && len(e.Indeterminate) > 0:
		// The live object agrees with Git wherever Git can say.
		o.State = Unverifiable
	case !res.Allowed:
		o.State = Differs
	}
	for _, d := range res.Diffs {
		o.Fields = append(o.Fields, d.Path.String())
	}
	return o, nil
}

// undeclared lists, per managed namespace and declared namespaced kind,
// the live objects Git does not declare. Objects a controller owns
// (ownerReferences) and the two every namespace gets are left out.
func undeclared(ctx context.Context, snap *provenance.Snapshot, live Live, only string) ([]Object, error) {
	kinds := map[schema.GroupVersionKind]map[string]bool{}
	for _, e := range snap.Entries() {
		if e.Key.Namespace == "" || (only != "" && e.Key.Namespace != only) {
			continue
		}
		gvk := schema.FromAPIVersionAndKind(e.APIVersion, e.Key.Kind)
		if kinds[gvk] == nil {
			kinds[gvk] = map[string]bool{}
		}
		kinds[gvk][e.Key.Namespace] = true
	}
	var out []Object
	for gvk, namespaces := range kinds {
		for ns := range namespaces {
			objs, err := live.List(ctx, gvk, ns)
			if err != nil {
				return nil, fmt.Errorf("list %s in %s: %w", gvk.GroupKind(), ns, err)
			}
			for _, obj := range objs {
				name := nameOf(obj)
				k := provenance.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: name}
				if snap.Lookup(k) == nil && !owned(obj) && !everyNamespaceHas[k.Kind+"/"+name] {
					out = append(out, Object{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: name, State: Undeclared})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key().String() < out[j].Key().String() })
	return out, nil
}

// everyNamespaceHas are made by the control plane in every namespace.
var everyNamespaceHas = map[string]bool{
	"ConfigMap/kube-root-ca.crt": true,
	"ServiceAccount/default":     true,
}

func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

func owned(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	return len(refs) > 0
}

// declaresContent reports whether a declared object holds more than its
// identity (type, name, namespace).
func declaresContent(obj map[string]any) bool {
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind":
		case "metadata":
			md, _ := v.(map[string]any)
			for f := range md {
				if f != "name" && f != "namespace" {
					return true
				}
			}
		default:
			return true
		}
	}
	return false
}
