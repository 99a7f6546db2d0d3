package provenance

import "strings"

// The exact forms in which admission plugins add to a Pod what Git never
// declares. Each is a compare.Shape for a built-in ignore rule, so that only
// the plugin's own addition is free, not anything that shares its name.
// The forms are those of k8s.io/kubernetes plugin/pkg/admission/
// serviceaccount (TokenVolumeSource) and defaulttolerationseconds.

// tokenMountPath is where the ServiceAccount plugin mounts the token.
const tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// isTokenVolume accepts the projected volume the ServiceAccount plugin adds:
// a bound token, the cluster CA and the namespace, read-only files.
func isTokenVolume(v any) bool {
	vol, _ := v.(map[string]any)
	name, _ := vol["name"].(string)
	proj, _ := vol["projected"].(map[string]any)
	if len(vol) != 2 || !strings.HasPrefix(name, "kube-api-access-") || proj == nil || !onlyKeys(proj, "sources", "defaultMode") {
		return false
	}
	if mode, ok := proj["defaultMode"]; ok && !isNumber(mode, 420) {
		return false
	}
	sources, _ := proj["sources"].([]any)
	return len(sources) == 3 && isTokenSource(sources[0]) && isCASource(sources[1]) && isNamespaceSource(sources[2])
}

func isTokenSource(v any) bool {
	src, _ := v.(map[string]any)
	tok, _ := src["serviceAccountToken"].(map[string]any)
	if len(src) != 1 || tok == nil || !onlyKeys(tok, "path", "expirationSeconds") || tok["path"] != "token" {
		return false
	}
	_, isNum := toNumber(tok["expirationSeconds"])
	return isNum
}

func isCASource(v any) bool {
	src, _ := v.(map[string]any)
	cm, _ := src["configMap"].(map[string]any)
	if len(src) != 1 || cm == nil || !onlyKeys(cm, "name", "items") || cm["name"] != "kube-root-ca.crt" {
		return false
	}
	items, _ := cm["items"].([]any)
	item, _ := first(items).(map[string]any)
	return len(items) == 1 && len(item) == 2 && item["key"] == "ca.crt" && item["path"] == "ca.crt"
}

func isNamespaceSource(v any) bool {
	src, _ := v.(map[string]any)
	dapi, _ := src["downwardAPI"].(map[string]any)
	if len(src) != 1 || dapi == nil || len(dapi) != 1 {
		return false
	}
	items, _ := dapi["items"].([]any)
	item, _ := first(items).(map[string]any)
	ref, _ := item["fieldRef"].(map[string]any)
	return len(items) == 1 && len(item) == 2 && item["path"] == "namespace" &&
		onlyKeys(ref, "apiVersion", "fieldPath") && ref["fieldPath"] == "metadata.namespace" && (ref["apiVersion"] == nil || ref["apiVersion"] == "v1")
}

// isTokenMount accepts the read-only mount of the token volume.
func isTokenMount(v any) bool {
	m, _ := v.(map[string]any)
	name, _ := m["name"].(string)
	return len(m) == 3 && strings.HasPrefix(name, "kube-api-access-") && m["mountPath"] == tokenMountPath && m["readOnly"] == true
}

// isDefaultToleration accepts the not-ready and unreachable tolerations
// DefaultTolerationSeconds adds: NoExecute, for a bounded time.
func isDefaultToleration(v any) bool {
	t, _ := v.(map[string]any)
	if !onlyKeys(t, "key", "operator", "effect", "tolerationSeconds") || len(t) != 4 {
		return false
	}
	key := t["key"]
	secs, isNum := toNumber(t["tolerationSeconds"])
	return (key == "node.kubernetes.io/not-ready" || key == "node.kubernetes.io/unreachable") &&
		t["operator"] == "Exists" && t["effect"] == "NoExecute" && isNum && secs >= 0
}

func onlyKeys(m map[string]any, keys ...string) bool {
	if m == nil {
		return false
	}
	n := 0
	for _, k := range keys {
		if _, ok := m[k]; ok {
			n++
		}
	}
	return n == len(m)
}

func first(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

func isNumber(v any, want float64) bool {
	n, ok := toNumber(v)
	return ok && n == want
}
