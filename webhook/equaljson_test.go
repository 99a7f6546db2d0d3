package webhook

import (
	"reflect"
	"testing"
)

// TestEqualJSONIsDeepEqual: equalJSON answers as reflect.DeepEqual on
// decoded JSON, the nil-against-empty cases included.
func TestEqualJSONIsDeepEqual(t *testing.T) {
	tmpl := func(image string) map[string]any {
		return map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": image, "ports": []any{float64(80)}}}}}
	}
	values := []any{
		nil, "", "a", float64(1), float64(2), int64(1), true, false,
		map[string]any{}, map[string]any(nil), []any{}, []any(nil),
		map[string]any{"a": nil}, map[string]any{"a": "b"}, map[string]any{"b": "b"},
		[]any{"a"}, []any{"a", "b"}, []any{"b", "a"},
		tmpl("web:1"), tmpl("web:2"),
	}
	for i, a := range values {
		for j, b := range values {
			if got, want := equalJSON(a, b), reflect.DeepEqual(a, b); got != want {
				t.Errorf("values %d and %d (%#v, %#v): equalJSON = %v, reflect.DeepEqual = %v", i, j, a, b, got, want)
			}
		}
	}
	if !equalJSON(tmpl("web:1"), tmpl("web:1")) {
		t.Error("two equal templates differ")
	}
}
