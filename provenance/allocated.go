package provenance

import (
	"encoding/json"
	"strconv"

	"github.com/gitgate/gitgate/provenance/compare"
)

// A person's create of a declared object before the agent is held to the
// dry run of Git's manifest (CheckDefaults). Values the API server
// allocates differ between two creates by nature (each clusterIP is
// another free address), so the comparison skips them; but whoever creates
// the object may also choose them, and they are immutable: a Service
// created headless (clusterIP: None), on a chosen address or node port, or
// a claim bound to a chosen volume, stays so, and the agent's apply of
// Git's manifest can never repair it. So where Git does not declare an
// allocated field, the creator must leave it to the API server: the
// request's value is of the kind the dry run got (an address where it got
// one, none where it got none), and no manager of the request (its
// managedFields, which the API server fills in from what the caller sent,
// before it allocates anything) set it.

// allocatedField is one field the API server allocates on create.
type allocatedField struct {
	kind string // core group
	// path is the field below the object's root; for ports, below each
	// element of spec.ports.
	path []string
	// perPort: the field is in every element of spec.ports.
	perPort bool
}

var allocatedFields = []allocatedField{
	{kind: "Service", path: []string{"spec", "clusterIP"}},
	{kind: "Service", path: []string{"spec", "clusterIPs"}},
	{kind: "Service", path: []string{"spec", "healthCheckNodePort"}},
	{kind: "Service", path: []string{"nodePort"}, perPort: true},
	// Bound by the PV controller after the create, never in a dry run.
	{kind: "PersistentVolumeClaim", path: []string{"spec", "volumeName"}},
}

// AllocatesFields reports whether the API server allocates fields of
// objects of kind k on create (see allocatedDiffs): only for those does
// CheckDefaults read the request's managedFields.
func AllocatesFields(k Key) bool {
	for _, f := range allocatedFields {
		if k.Group == "" && f.kind == k.Kind {
			return true
		}
	}
	return false
}

// allocatedDiffs reports the allocated fields Git does not declare that the
// request obj chose rather than left to the API server, judged against
// defaulted, the dry run of Git's manifest.
func allocatedDiffs(key Key, declared, defaulted, obj map[string]any) []compare.Diff {
	if key.Group != "" {
		return nil
	}
	sent := sentFields(obj)
	var diffs []compare.Diff
	for _, f := range allocatedFields {
		if f.kind != key.Kind {
			continue
		}
		if f.perPort {
			diffs = append(diffs, portDiffs(f.path[0], declared, defaulted, obj, sent)...)
			continue
		}
		if !isEmpty(valueAt(declared, f.path)) {
			continue // Git pins it: Check holds the request to Git's value
		}
		got := valueAt(obj, f.path)
		if allocClass(got) != allocClass(valueAt(defaulted, f.path)) || sent.has(f.path...) {
			diffs = append(diffs, allocatedDiff(got, f.path...))
		}
	}
	return diffs
}

// portDiffs applies the rule to field of each element of spec.ports,
// matched by port and protocol.
func portDiffs(field string, declared, defaulted, obj map[string]any, sent fieldSet) []compare.Diff {
	var diffs []compare.Diff
	for i, p := range portsOf(obj) {
		port, proto := portKey(p)
		if !isEmpty(portField(portsOf(declared), port, proto, field)) {
			continue
		}
		got := p[field]
		if allocClass(got) != allocClass(portField(portsOf(defaulted), port, proto, field)) || sent.hasPort(port, proto, field) {
			d := allocatedDiff(got, "spec", "ports")
			d.Path = append(d.Path, compare.Step{KeyName: "port,protocol", KeyValue: strconv.FormatFloat(port, 'g', -1, 64) + "," + proto, Index: i},
				compare.Step{Field: field, Index: -1})
			diffs = append(diffs, d)
		}
	}
	return diffs
}

func allocatedDiff(got any, fields ...string) compare.Diff {
	p := make(compare.Path, len(fields))
	for i, f := range fields {
		p[i] = compare.Step{Field: f, Index: -1}
	}
	return compare.Diff{Path: p, Kind: compare.Undeclared, Request: got}
}

// allocClass says what kind of value an allocated field holds: none, the
// explicit "None" of a headless Service, or an allocated one; a list, the
// class of each element.
func allocClass(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == "" || x == "None" {
			return x
		}
	case []any:
		s := "["
		for _, e := range x {
			s += allocClass(e) + ","
		}
		return s + "]"
	}
	return "allocated"
}

func isEmpty(v any) bool {
	return v == nil || v == "" || isEmptyValue(v)
}

func valueAt(obj map[string]any, path []string) any {
	var v any = obj
	for _, f := range path {
		m, _ := v.(map[string]any)
		v = m[f]
	}
	return v
}

func portsOf(obj map[string]any) []map[string]any {
	l, _ := valueAt(obj, []string{"spec", "ports"}).([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// portKey is a port's merge key, the protocol defaulted as the API server
// does.
func portKey(p map[string]any) (float64, string) {
	port, _ := toNumber(p["port"])
	proto, _ := p["protocol"].(string)
	if proto == "" {
		proto = "TCP"
	}
	return port, proto
}

func portField(ports []map[string]any, port float64, proto, field string) any {
	for _, p := range ports {
		if n, pr := portKey(p); n == port && pr == proto {
			return p[field]
		}
	}
	return nil
}

// fieldSet is the union of the request's managedFields (FieldsV1): on a
// create, every field the caller sent, whoever it names as manager.
type fieldSet []map[string]any

func sentFields(obj map[string]any) fieldSet {
	meta, _ := obj["metadata"].(map[string]any)
	entries, _ := meta["managedFields"].([]any)
	var out fieldSet
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if f, ok := m["fieldsV1"].(map[string]any); ok {
			out = append(out, f)
		}
	}
	return out
}

func (s fieldSet) has(path ...string) bool {
	for _, f := range s {
		var node any = f
		for _, p := range path {
			m, _ := node.(map[string]any)
			node = m["f:"+p]
		}
		if node != nil {
			return true
		}
	}
	return false
}

// hasPort reports field set in the element of spec.ports keyed
// k:{"port":port,"protocol":proto}.
func (s fieldSet) hasPort(port float64, proto, field string) bool {
	for _, f := range s {
		spec, _ := f["f:spec"].(map[string]any)
		ports, _ := spec["f:ports"].(map[string]any)
		for k, v := range ports {
			var key struct {
				Port     float64 `json:"port"`
				Protocol string  `json:"protocol"`
			}
			if len(k) < 2 || k[:2] != "k:" || json.Unmarshal([]byte(k[2:]), &key) != nil {
				continue
			}
			if m, _ := v.(map[string]any); key.Port == port && key.Protocol == proto && m["f:"+field] != nil {
				return true
			}
		}
	}
	return false
}
