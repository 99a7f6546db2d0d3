package provenance

import (
	"encoding/base64"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/gitgate/gitgate/provenance/compare"
)

// entry declares obj, an object of file f, as one normalized Entry, and
// reports whether the scope of its kind had to be guessed.
func (b *building) entry(f File, obj map[string]any) (*Entry, bool, error) {
	id, err := identify(obj)
	if err != nil {
		return nil, false, err
	}
	// The namespace is set or dropped below by scope, which the CRDs of the
	// revision decide: change copies, so that Build's second pass (a CRD
	// found late) starts again from the namespace Git wrote. The rest of
	// normalization gives the same result when run twice.
	obj, meta := maps.Clone(obj), maps.Clone(id.meta)
	obj["metadata"] = meta
	namespaced, guessed, err := b.scope(id.gvk.GroupKind())
	if err != nil {
		return nil, false, err
	}
	key := Key{Group: id.gvk.Group, Kind: id.gvk.Kind, Namespace: b.ix.place(meta, namespaced), Name: id.name}
	s := b.schema(id.gvk)
	normalizeDeclared(key, obj)
	compare.Normalize(obj, s)
	e := &Entry{Key: key, APIVersion: id.apiVersion, Path: f.Path, Schema: s, Root: b.ix.Root,
		AgentOnly: f.AgentOnly || f.Transient, HideValues: f.HideValues, Transient: f.Transient}
	if err := e.setIgnore(f.Ignore, f.Indeterminate); err != nil {
		return nil, false, err
	}
	if f.Kustomize {
		e.Path, e.Kustomize = originFile(f.Path, meta), f.Path
	}
	if e.controllerIgnore, e.controllerManagers, err = controllerIgnore(f.ControllerIgnores, key); err != nil {
		return nil, false, err
	}
	if err := e.setObject(obj); err != nil {
		return nil, false, err
	}
	return e, guessed, nil
}

// identity is what names a manifest: its type, name and metadata.
type identity struct {
	apiVersion string
	gvk        schema.GroupVersionKind
	name       string
	meta       map[string]any
}

// identify reads the identity of obj, refusing a manifest that has none.
func identify(obj map[string]any) (identity, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return identity{}, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if kind == "" || name == "" {
		// Sources skip such documents as not Kubernetes objects, but Build
		// is exported: a caller's bad object is an error, not a panic.
		return identity{}, fmt.Errorf("%s object without a kind or metadata.name: %w", apiVersion, ErrNotAnObject)
	}
	return identity{apiVersion: apiVersion, gvk: gv.WithKind(kind), name: name, meta: meta}, nil
}

// scope tells whether gk is namespaced: from a CRD of the revision, else
// from the API server. A kind neither knows is guessed namespaced.
func (b *building) scope(gk schema.GroupKind) (namespaced, guessed bool, err error) {
	if crd := b.crds[gk]; crd != nil {
		return crd.namespaced, false, nil
	}
	known := false
	if b.ix.Scope != nil {
		namespaced, known, err = b.ix.Scope.Namespaced(gk)
		if err != nil {
			return false, false, fmt.Errorf("look up scope of %s: %w", gk, err)
		}
	}
	if !known {
		// The API server does not serve this kind yet. kubectl could not
		// apply it either; guess from the manifest and resolve again later.
		return true, true, nil
	}
	return namespaced, false, nil
}

// place puts an object where kubectl apply would, writing it into meta: a
// namespaced one without a namespace into DefaultNamespace, a
// cluster-scoped one into none. It returns the namespace.
func (ix *Indexer) place(meta map[string]any, namespaced bool) string {
	ns, _ := meta["namespace"].(string)
	switch {
	case namespaced && ns == "":
		ns = ix.DefaultNamespace
		meta["namespace"] = ns
	case !namespaced:
		ns = ""
		delete(meta, "namespace")
	}
	return ns
}

// schema is the comparison schema of gvk, derived once per pass.
func (b *building) schema(gvk schema.GroupVersionKind) *compare.Schema {
	s, ok := b.schemas[gvk]
	if !ok {
		s = b.ix.schemaFor(gvk, b.crds)
		b.schemas[gvk] = s
	}
	return s
}

func (ix *Indexer) schemaFor(gvk schema.GroupVersionKind, crds map[schema.GroupKind]*crdInfo) *compare.Schema {
	sch := ix.Scheme
	if sch == nil {
		sch = clientgoscheme.Scheme
	}
	if obj, err := sch.New(gvk); err == nil {
		return compare.SchemaForType(reflect.TypeOf(obj))
	}
	if crd := crds[gvk.GroupKind()]; crd != nil {
		return compare.SchemaFromOpenAPI(crd.schemas[gvk.Version])
	}
	return nil
}

// normalizeDeclared rewrites what the API server rewrites before admission
// sees an object, for fields whose rule depends on the kind.
func normalizeDeclared(k Key, obj map[string]any) {
	switch {
	case k.Group == "" && k.Kind == "Secret":
		canonicalBase64(obj["data"])
	case k.Group == "" && k.Kind == "ConfigMap":
		canonicalBase64(obj["binaryData"])
	}
	if k.Group == "" && k.Kind == "Secret" {
		// The API server merges stringData into data (base64) when it
		// converts a v1 Secret, so validating webhooks never see stringData.
		// https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data
		if sd, ok := obj["stringData"].(map[string]any); ok {
			data, _ := obj["data"].(map[string]any)
			if data == nil {
				data = map[string]any{}
			}
			for key, v := range sd {
				if s, ok := v.(string); ok {
					data[key] = base64.StdEncoding.EncodeToString([]byte(s))
				}
			}
			obj["data"] = data
			delete(obj, "stringData")
		}
	}
}

// canonicalBase64 re-encodes base64 values the way the API server writes
// []byte back: one line, standard padding. Git often holds `base64` output
// wrapped over several lines, which the API server decodes all the same.
func canonicalBase64(v any) {
	m, _ := v.(map[string]any)
	for key, val := range m {
		s, ok := val.(string)
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			continue // not base64: leave it, the API server will refuse it
		}
		m[key] = base64.StdEncoding.EncodeToString(raw)
	}
}
