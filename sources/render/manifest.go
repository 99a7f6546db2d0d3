package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// IsManifestFile reports whether a file name is read as manifests.
func IsManifestFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ParseManifests decodes every Kubernetes object in a YAML (possibly
// multi-document) or JSON file. Items of a List are returned one by one.
// Documents that are not Kubernetes objects, such as kustomization.yaml or a
// Helm values file, are skipped.
func ParseManifests(data []byte) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for doc := 1; ; doc++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		objs, err := flatten(obj)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		out = append(out, objs...)
	}
}

func flatten(obj map[string]any) ([]map[string]any, error) {
	if obj == nil {
		return nil, nil
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" || isToolConfig(apiVersion) {
		return nil, nil
	}
	if strings.HasSuffix(kind, "List") {
		if items, ok := obj["items"].([]any); ok {
			var out []map[string]any
			for i, it := range items {
				m, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s item %d is not an object", kind, i)
				}
				objs, err := flatten(m)
				if err != nil {
					return nil, err
				}
				out = append(out, objs...)
			}
			return out, nil
		}
	}
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name == "" {
		return nil, nil
	}
	return []map[string]any{obj}, nil
}

// isToolConfig reports configuration read by build tools rather than the
// API server (kustomize's Kustomization and Component, KRM function configs).
func isToolConfig(apiVersion string) bool {
	group, _, _ := strings.Cut(apiVersion, "/")
	return group == "kustomize.config.k8s.io" || group == "config.kubernetes.io"
}
