package provenance

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestCompactKeepsValues(t *testing.T) {
	long := strings.Repeat("x", maxInterned+1)
	tests := []struct {
		name string
		in   func() any
	}{
		{"scalars", func() any {
			return map[string]any{"a": 0.0, "b": 1023.0, "c": 1024.0, "d": 1.5, "e": -1.0, "f": math.Copysign(0, -1), "g": true, "h": nil}
		}},
		{"nested", func() any {
			return map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "ports": []any{map[string]any{"containerPort": 8080.0}}}}}}
		}},
		{"strings", func() any { return []any{"TCP", long, "", "TCP"} }},
		{"empty", func() any { return map[string]any{"m": map[string]any{}, "l": []any{}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := interner{}.compact(tc.in())
			if want := tc.in(); !reflect.DeepEqual(got, want) {
				t.Errorf("compact changed the value:\n got %#v\nwant %#v", got, want)
			}
			if m, _ := got.(map[string]any); m != nil && tc.name == "scalars" && !math.Signbit(m["f"].(float64)) {
				t.Error("-0 lost its sign")
			}
		})
	}
}

func TestCompactSharesStrings(t *testing.T) {
	in := interner{}
	a := in.compact(map[string]any{"protocol": strings.Clone("TCP")}).(map[string]any)
	b := in.compact(map[string]any{"protocol": strings.Clone("TCP")}).(map[string]any)
	pa, pb := a["protocol"].(string), b["protocol"].(string)
	if unsafe.StringData(pa) != unsafe.StringData(pb) {
		t.Error("equal values of two objects are not shared")
	}
}
