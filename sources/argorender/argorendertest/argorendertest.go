// Package argorendertest compares rendered objects as Argo CD's own tools
// print them, for tests.
package argorendertest

import (
	"encoding/json"
	"sort"
)

// trackingID is the annotation Argo CD's application controller adds to
// what it applies; the reference tools (helm, kustomize) do not.
const trackingID = "argocd.argoproj.io/tracking-id"

// Canonical is each object as JSON without Argo CD's tracking annotation
// (and without annotations left empty by its removal), sorted. It changes
// objs.
func Canonical(objs []map[string]any) ([]string, error) {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		if meta, _ := o["metadata"].(map[string]any); meta != nil {
			if ann, _ := meta["annotations"].(map[string]any); ann != nil {
				delete(ann, trackingID)
				if len(ann) == 0 {
					delete(meta, "annotations")
				}
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out, nil
}
