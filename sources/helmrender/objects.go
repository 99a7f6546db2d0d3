package helmrender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// docStart splits a release manifest: Helm writes each document as
// "---\n# Source: <file>\n<content>\n".
var docStart = regexp.MustCompile(`(?m)^---\n# Source: (.*)\n`)

// manifestObjects decodes a release manifest, each object with the chart
// file Helm names as its source.
func manifestObjects(manifest string) ([]Object, error) {
	locs := docStart.FindAllStringSubmatchIndex(manifest, -1)
	var out []Object
	for i, loc := range locs {
		end := len(manifest)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		src := manifest[loc[2]:loc[3]]
		docs, err := decodeDocs([]byte(manifest[loc[1]:end]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		for _, d := range docs {
			out = append(out, Object{Object: d, Source: src})
		}
	}
	return out, nil
}

// hookObjects decodes the hooks the target action runs: none with
// disableHooks (tests aside), tests only with spec.test.enable.
func (p *plan) hookObjects(hooks []*release.Hook) ([]Object, error) {
	hr := p.in.HelmRelease
	disabled := hr.GetInstall().DisableHooks
	if p.in.Target.Upgrade {
		disabled = hr.GetUpgrade().DisableHooks
	}
	var out []Object
	for _, h := range hooks {
		test := slices.Contains(h.Events, release.HookTest)
		if (test && !hr.GetTest().Enable) || (!test && disabled) {
			continue
		}
		docs, err := decodeDocs([]byte(h.Manifest))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Path, err)
		}
		for _, d := range docs {
			out = append(out, Object{Object: d, Source: h.Path})
		}
	}
	return out, nil
}

// decodeDocs decodes a YAML stream into objects, as the Kubernetes
// client Helm applies with reads it: empty documents skipped, lists
// flattened into their items, numbers as int64 or float64.
func decodeDocs(data []byte) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		if !u.IsList() {
			out = append(out, u.Object)
			continue
		}
		if err := u.EachListItem(func(item runtime.Object) error {
			out = append(out, item.(*unstructured.Unstructured).Object)
			return nil
		}); err != nil {
			return nil, err
		}
	}
}

// finish does what Helm's Kubernetes client does before it applies: a
// namespaced object without a namespace goes to the release namespace (a
// cluster-scoped one has none), and for the release manifest (not hooks)
// Helm's ownership metadata: the app.kubernetes.io/managed-by: Helm label
// and the meta.helm.sh/release-name and -namespace annotations, which win
// over the chart's own (setMetadataVisitor with forceOwnership).
func (p *plan) finish(objs []Object, owned bool) ([]Object, error) {
	for i := range objs {
		o := objs[i].Object
		namespaced, err := p.namespaced(o)
		if err != nil {
			return nil, err
		}
		meta, _ := o["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			o["metadata"] = meta
		}
		switch ns, _ := meta["namespace"].(string); {
		case !namespaced:
			delete(meta, "namespace")
		case ns == "":
			meta["namespace"] = p.ns
		}
		if owned {
			setLabels(o, map[string]string{"app.kubernetes.io/managed-by": "Helm"})
			setAnnotations(o, map[string]string{"meta.helm.sh/release-name": p.name, "meta.helm.sh/release-namespace": p.ns})
		}
		objs[i].DriftIgnored = hasDriftDisabled(meta)
	}
	return objs, nil
}

// namespaced looks the object's kind up: the chart's CRDs first, then the
// cluster.
func (p *plan) namespaced(o map[string]any) (bool, error) {
	kind, _ := o["kind"].(string)
	gk := schema.GroupKind{Group: groupOf(o), Kind: kind}
	if n, ok := p.crdScope[gk]; ok {
		return n, nil
	}
	if p.in.Scope == nil {
		return false, fmt.Errorf("%s: %w (no scope)", gk, ErrUnknownKind)
	}
	n, known, err := p.in.Scope.Namespaced(gk)
	if err != nil {
		return false, fmt.Errorf("scope of %s: %w", gk, err)
	}
	if !known {
		return false, fmt.Errorf("%s: %w", gk, ErrUnknownKind)
	}
	return n, nil
}

func groupOf(o map[string]any) string {
	av, _ := o["apiVersion"].(string)
	gv, err := schema.ParseGroupVersion(av)
	if err != nil {
		return ""
	}
	return gv.Group
}

func setLabels(o map[string]any, add map[string]string)      { setStrings(o, "labels", add) }
func setAnnotations(o map[string]any, add map[string]string) { setStrings(o, "annotations", add) }

func setStrings(o map[string]any, field string, add map[string]string) {
	meta, _ := o["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		o["metadata"] = meta
	}
	m, _ := meta[field].(map[string]any)
	if m == nil {
		m = map[string]any{}
		meta[field] = m
	}
	for k, v := range add {
		m[k] = v
	}
}

// hasDriftDisabled reports helm-controller's per-object opt-out of drift
// detection (its jsondiff ExclusionSelector, a label or an annotation).
func hasDriftDisabled(meta map[string]any) bool {
	for _, field := range []string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		if v, _ := m[helmv2.DriftDetectionMetadataKey].(string); v == helmv2.DriftDetectionDisabledValue {
			return true
		}
	}
	return false
}
