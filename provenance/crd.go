package provenance

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

type crdInfo struct {
	namespaced bool
	// schemas maps a served version to its openAPIV3Schema.
	schemas map[string]map[string]any
}

// collectCRDs gathers the CRDs of a revision, from the cache for files
// passed without objects, and a fingerprint of where they came from.
func (ix *Indexer) collectCRDs(files []File) (map[schema.GroupKind]*crdInfo, string, error) {
	crds := map[schema.GroupKind]*crdInfo{}
	var from []string
	for _, f := range files {
		fc := map[schema.GroupKind]*crdInfo(nil)
		switch {
		case f.Objects == nil && f.Load != nil:
			continue // declares no CRD
		case f.Objects == nil:
			cached := ix.cache[fileKey{f.Path, f.ID}]
			if cached == nil {
				if f.ID == "" {
					continue // an empty file
				}
				return nil, "", ErrIndexCacheStale
			}
			fc = cached.crds
		default:
			fc = crdsOf(f.Objects)
		}
		if len(fc) == 0 {
			continue
		}
		id := f.ID
		if id == "" {
			// Content unknown: this revision's CRDs never match the last.
			ix.builds++
			id = fmt.Sprintf("unidentified-%d", ix.builds)
		}
		from = append(from, f.Path+"@"+id)
		for gk, info := range fc {
			crds[gk] = info
		}
	}
	sort.Strings(from)
	return crds, strings.Join(from, ","), nil
}

// crdsOf collects the CustomResourceDefinitions among objs, so that custom
// resources declared next to their CRD index and compare correctly before
// the CRD is installed. It is nil when there is none.
func crdsOf(objs []map[string]any) map[schema.GroupKind]*crdInfo {
	var out map[schema.GroupKind]*crdInfo
	for _, obj := range objs {
		if obj["kind"] != "CustomResourceDefinition" || obj["apiVersion"] != "apiextensions.k8s.io/v1" {
			continue
		}
		spec, _ := obj["spec"].(map[string]any)
		names, _ := spec["names"].(map[string]any)
		group, _ := spec["group"].(string)
		kind, _ := names["kind"].(string)
		if kind == "" {
			continue
		}
		info := &crdInfo{namespaced: spec["scope"] != "Cluster", schemas: map[string]map[string]any{}}
		versions, _ := spec["versions"].([]any)
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			name, _ := vm["name"].(string)
			sch, _ := vm["schema"].(map[string]any)
			props, _ := sch["openAPIV3Schema"].(map[string]any)
			info.schemas[name] = props
		}
		if out == nil {
			out = map[schema.GroupKind]*crdInfo{}
		}
		out[schema.GroupKind{Group: group, Kind: kind}] = info
	}
	return out
}
