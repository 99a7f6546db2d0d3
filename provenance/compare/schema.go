package compare

import (
	"reflect"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Schema describes the shape of one kind as far as comparison needs it:
// which lists merge by key, and which strings are quantities. A nil *Schema
// is valid and means "unknown": maps compare key by key, lists as a whole.
type Schema struct {
	fields map[string]*Schema
	// elem is the schema of list items or of map values.
	elem *Schema
	// keys names the fields that identify an element of a list that merges
	// by key (patchMergeKey in the Go types, x-kubernetes-list-map-keys in a
	// CRD). Empty for atomic lists.
	keys []string
	// quantity marks resource.Quantity values, which compare by value.
	quantity bool
	// omitsZero marks a non-pointer scalar field with omitempty in the Go
	// types: the API server drops its zero value, so a declared false, 0
	// or "" equals an absent field. Elsewhere (pointer fields, custom
	// resources) absent is not zero: absent automountServiceAccountToken
	// means true.
	omitsZero bool
	// atomic marks a struct compared as a whole, not field by field: a
	// label selector, where an added matchLabels entry changes its meaning.
	atomic bool
	// defaulted marks a CRD field with a schema default: the API server
	// may fill the whole list on create, so its elements are not a
	// person's additions.
	defaulted bool
}

// IsAtomic reports whether the value at this node compares as a whole.
func (s *Schema) IsAtomic() bool { return s != nil && s.atomic }

// omitsZeroScalar is shared by every scalar field that omits its zero value.
var omitsZeroScalar = &Schema{omitsZero: true}

// OmitsZero reports whether an absent value at this node means the zero
// value.
func (s *Schema) OmitsZero() bool { return s != nil && s.omitsZero }

// Field returns the schema of a map key or struct field.
func (s *Schema) Field(name string) *Schema {
	if s == nil {
		return nil
	}
	if s.fields != nil {
		return s.fields[name]
	}
	return s.elem
}

// Elem returns the schema of list items or map values.
func (s *Schema) Elem() *Schema {
	if s == nil {
		return nil
	}
	return s.elem
}

// Keys returns the merge keys of a list that merges by key, or nil.
func (s *Schema) Keys() []string {
	if s == nil {
		return nil
	}
	return s.keys
}

// IsQuantity reports whether values at this node are resource quantities.
func (s *Schema) IsQuantity() bool { return s != nil && s.quantity }

var (
	typeSchemas   sync.Map // reflect.Type -> *Schema
	quantityT     = reflect.TypeFor[resource.Quantity]()
	labelSelector = reflect.TypeFor[metav1.LabelSelector]()
	// setKeys gives lists without a patchMergeKey that are sets all the
	// same the fields that identify an element. Tolerations: admission
	// (DefaultTolerationSeconds) appends to a Pod's, so they cannot be
	// compared by position.
	setKeys = map[reflect.Type][]string{
		reflect.TypeFor[corev1.Toleration](): {"key", "operator", "value", "effect"},
	}
	// atomicFields are label selectors written as plain maps: like a
	// metav1.LabelSelector they mean what they say as a whole (upstream
	// marks them +mapType=atomic, which reflection cannot see).
	atomicFields = map[reflect.Type]string{
		reflect.TypeFor[corev1.ServiceSpec]():               "selector",
		reflect.TypeFor[corev1.ReplicationControllerSpec](): "selector",
	}
)

// SchemaForType derives a Schema from a Kubernetes Go API type, such as
// appsv1.Deployment. Lists whose field carries `patchStrategy:"merge"` and a
// `patchMergeKey` merge by that key, the same rule strategic merge patch and
// kubectl apply use. The result is cached per type.
func SchemaForType(t reflect.Type) *Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := typeSchemas.Load(t); ok {
		return s.(*Schema)
	}
	building := map[reflect.Type]*Schema{}
	s := schemaFor(t, building)
	for typ, sch := range building {
		typeSchemas.LoadOrStore(typ, sch)
	}
	return s
}

func schemaFor(t reflect.Type, building map[reflect.Type]*Schema) *Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := typeSchemas.Load(t); ok {
		return s.(*Schema)
	}
	if s, ok := building[t]; ok {
		// Recursive types, such as apiextensions' JSONSchemaProps.
		return s
	}
	switch {
	case t == quantityT:
		return &Schema{quantity: true}
	case t.Kind() == reflect.Struct:
		s := &Schema{fields: map[string]*Schema{}, atomic: t == labelSelector}
		building[t] = s
		addStructFields(s, t, building)
		if len(s.fields) == 0 {
			// Types with custom JSON encodings (metav1.Time, IntOrString,
			// RawExtension) carry no exported JSON fields: they are leaves.
			s.fields = nil
		}
		return s
	case t.Kind() == reflect.Map:
		return &Schema{elem: schemaFor(t.Elem(), building)}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		return &Schema{elem: schemaFor(t.Elem(), building), keys: setKeys[t.Elem()]}
	default:
		return nil
	}
}

func addStructFields(s *Schema, t reflect.Type, building map[reflect.Type]*Schema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) && ft.Kind() == reflect.Struct {
			addStructFields(s, ft, building)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := schemaFor(f.Type, building)
		if strings.Contains(opts, "omitempty") {
			switch {
			case fs == nil && f.Type.Kind() != reflect.Pointer:
				fs = omitsZeroScalar
			case f.Type.Kind() == reflect.Map || f.Type.Kind() == reflect.Slice:
				// encoding/json drops an empty map or list with omitempty.
				c := *fs
				c.omitsZero = true
				fs = &c
			}
		}
		if atomicFields[t] == name && fs != nil {
			c := *fs
			c.atomic = true
			fs = &c
		}
		if key := f.Tag.Get("patchMergeKey"); key != "" && strings.Contains(f.Tag.Get("patchStrategy"), "merge") && fs != nil {
			// Copy: the same slice type may be atomic elsewhere.
			fs = &Schema{elem: fs.elem, keys: []string{key}, omitsZero: fs.omitsZero}
		}
		s.fields[name] = fs
	}
}

// SchemaFromOpenAPI derives a Schema from a CRD's openAPIV3Schema, decoded
// as JSON. It honours x-kubernetes-list-type: map with
// x-kubernetes-list-map-keys; a list without them compares as a whole.
func SchemaFromOpenAPI(props map[string]any) *Schema {
	if props == nil {
		return nil
	}
	s := &Schema{}
	if p, ok := props["properties"].(map[string]any); ok && len(p) > 0 {
		s.fields = make(map[string]*Schema, len(p))
		for name, sub := range p {
			sm, _ := sub.(map[string]any)
			s.fields[name] = SchemaFromOpenAPI(sm)
		}
	}
	if items, ok := props["items"].(map[string]any); ok {
		s.elem = SchemaFromOpenAPI(items)
		if props["x-kubernetes-list-type"] == "map" {
			for _, k := range asSlice(props["x-kubernetes-list-map-keys"]) {
				if ks, ok := k.(string); ok {
					s.keys = append(s.keys, ks)
				}
			}
		}
	}
	if ap, ok := props["additionalProperties"].(map[string]any); ok && s.fields == nil {
		s.elem = SchemaFromOpenAPI(ap)
	}
	_, s.defaulted = props["default"]
	// controller-gen marks label selectors (and other maps and structs
	// that mean what they say as a whole) with x-kubernetes-map-type.
	s.atomic = props["x-kubernetes-map-type"] == "atomic"
	if s.fields == nil && s.elem == nil && len(s.keys) == 0 && !s.defaulted && !s.atomic {
		return nil
	}
	return s
}

func asSlice(v any) []any {
	l, _ := v.([]any)
	return l
}
