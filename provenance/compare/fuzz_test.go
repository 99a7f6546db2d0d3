package compare

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzCompareSelf: whatever the object, it agrees with itself as a create
// and as a no-op update, comparison never panics on odd JSON, and it never
// changes the declared side, which decisions share (provenance's decoded
// entries).
func FuzzCompareSelf(f *testing.F) {
	for _, seed := range []string{
		`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x","ports":[{"containerPort":80}]}]}}}}`,
		`{"spec":{"replicas":0,"x":null,"y":[],"z":{}}}`,
		`{"data":{"a":"","b":"0.5"},"list":[1,"1",true,null,{"k":[]}]}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"},{"image":"no-name"}]}}}}`,
		`{"spec":{"template":{"spec":{"containers":"not-a-list","volumes":[3]}}}}`,
	} {
		f.Add(seed)
	}
	ig := &Ignore{}
	ig.Add([]string{"status"}, false)
	ig.Add([]string{"spec", "*", "nodePort"}, true)
	f.Fuzz(func(t *testing.T, in string) {
		var a, b, c map[string]any
		if json.Unmarshal([]byte(in), &a) != nil {
			return
		}
		_ = json.Unmarshal([]byte(in), &b)
		_ = json.Unmarshal([]byte(in), &c)
		Normalize(a, deploySchema)
		Normalize(b, deploySchema)
		Normalize(c, deploySchema)
		if d := Compare(a, nil, b, deploySchema, Options{Strict: true, Ignore: ig}); len(d) > 0 {
			t.Fatalf("object differs from itself on create: %v", d)
		}
		if d := Compare(a, c, b, deploySchema, Options{Strict: true, Ignore: ig}); len(d) > 0 {
			t.Fatalf("object differs from itself on update: %v", d)
		}
		for _, d := range Compare(a, nil, map[string]any{}, deploySchema, Options{}) {
			_ = d.Path.String()
		}
		_ = Compare(a, map[string]any{}, c, deploySchema, Options{Strict: true, StrictLists: true, Ignore: ig})
		var fresh map[string]any
		_ = json.Unmarshal([]byte(in), &fresh)
		Normalize(fresh, deploySchema)
		if !reflect.DeepEqual(a, fresh) {
			t.Fatalf("Compare changed the declared object: %v, was %v", a, fresh)
		}
	})
}
