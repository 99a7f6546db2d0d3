package fluxrender

import "testing"

func TestNeverReverted(t *testing.T) {
	obj := func(field, key, value string) map[string]any {
		return map[string]any{"metadata": map[string]any{field: map[string]any{key: value}}}
	}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want bool
	}{
		{name: "plain", obj: map[string]any{"metadata": map[string]any{"name": "a"}}},
		{name: "reconcile disabled label", obj: obj("labels", reconcileKey, "disabled"), want: true},
		{name: "reconcile disabled annotation", obj: obj("annotations", reconcileKey, "Disabled"), want: true},
		{name: "reconcile enabled", obj: obj("annotations", reconcileKey, "enabled")},
		{name: "ssa Ignore", obj: obj("annotations", ssaKey, "Ignore"), want: true},
		{name: "ssa IfNotPresent", obj: obj("labels", ssaKey, "IfNotPresent"), want: true},
		{name: "ssa Merge is still applied", obj: obj("annotations", ssaKey, "Merge")},
		{name: "ssa Override", obj: obj("annotations", ssaKey, "Override")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeverReverted(tc.obj); got != tc.want {
				t.Errorf("NeverReverted = %v, want %v", got, tc.want)
			}
		})
	}
}
