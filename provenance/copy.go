package provenance

import "k8s.io/apimachinery/pkg/runtime"

func deepCopyObjects(objs []map[string]any) []map[string]any {
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = runtime.DeepCopyJSON(o)
	}
	return out
}
