package compare

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// compareLinear is Compare without keyed-list indexes: the reference.
func compareLinear(declared, old, obj map[string]any, s *Schema, opts Options) []Diff {
	w := walker{strict: opts.Strict && old != nil, strictLists: opts.StrictLists, max: 64, linearOnly: true}
	w.walk(declared, old, obj, s, opts.Ignore)
	sortDiffs(w.diffs)
	return w.diffs
}

// envDeployment is a Deployment whose one container has env entries named
// by names (duplicates allowed), each with value v.
func envDeployment(names []string, v string) map[string]any {
	env := make([]any, len(names))
	for i, n := range names {
		env[i] = map[string]any{"name": n, "value": v}
	}
	return map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "app", "env": env}},
	}}}}
}

// FuzzKeyedListIndex: the hash index of long keyed lists finds exactly what
// the linear search finds, duplicates and empty keys included.
func FuzzKeyedListIndex(f *testing.F) {
	f.Add([]byte("abcabcaab"), []byte("bacbca"), uint8(40), true, true)
	f.Add([]byte{0, 1, 2, 0, 0, 3}, []byte{3, 0, 0, 2, 1}, uint8(64), false, false)
	f.Add([]byte("zzzz"), []byte(""), uint8(33), true, false)
	f.Fuzz(func(t *testing.T, declNames, objNames []byte, repeat uint8, strict, withOld bool) {
		names := func(b []byte) []string {
			out := make([]string, 0, len(b)*int(repeat%70+1))
			for r := 0; r <= int(repeat%70); r++ {
				for _, c := range b {
					if c%7 == 0 {
						out = append(out, "") // the empty key
					} else {
						out = append(out, string('a'+rune(c%5)))
					}
				}
			}
			return out
		}
		decl, obj := envDeployment(names(declNames), "1"), envDeployment(names(objNames), "1")
		var old map[string]any
		if withOld {
			old = envDeployment(names(objNames[len(objNames)/2:]), "2")
		}
		opts := Options{Strict: strict, StrictLists: strict}
		got := Compare(decl, old, obj, deploySchema, opts)
		want := compareLinear(decl, old, obj, deploySchema, opts)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("indexed: %v\nlinear:  %v", got, want)
		}
	})
}

func TestKeyedListIndexMatchesLinear(t *testing.T) {
	long := make([]string, 100)
	for i := range long {
		long[i] = "E" + strconv.Itoa(i%40) // 40 keys, most repeated
	}
	shifted := append(append([]string{}, long[10:]...), long[:10]...)
	tests := []struct {
		name      string
		decl, obj []string
		old       []string
	}{
		{name: "same long list", decl: long, obj: long},
		{name: "long list reordered", decl: long, obj: shifted},
		{name: "elements removed", decl: long, obj: long[:70]},
		{name: "elements added", decl: long[:70], obj: long},
		{name: "update removes and adds", decl: long[:50], obj: long[20:], old: long},
	}
	for _, tc := range tests {
		for _, strict := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s strict=%v", tc.name, strict), func(t *testing.T) {
				var old map[string]any
				if tc.old != nil {
					old = envDeployment(tc.old, "0")
				}
				decl, obj := envDeployment(tc.decl, "1"), envDeployment(tc.obj, "1")
				opts := Options{Strict: strict, StrictLists: strict}
				got := Compare(decl, old, obj, deploySchema, opts)
				want := compareLinear(decl, old, obj, deploySchema, opts)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("indexed: %v\nlinear:  %v", got, want)
				}
				if tc.name != "same long list" && tc.name != "long list reordered" && len(got) == 0 {
					t.Error("no diff reported for a changed list")
				}
			})
		}
	}
}

// BenchmarkHostileEnvCreate is a CREATE of a declared Deployment whose
// container carries n env vars Git does not declare, in strict mode: the
// request a person with create rights (or dryRun=All) can send. It grows
// linearly with n; the diff cap stops the walk early.
func BenchmarkHostileEnvCreate(b *testing.B) {
	for _, n := range []int{20000, 40000, 80000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			names := make([]string, n)
			for i := range names {
				names[i] = "VAR_" + strconv.Itoa(i)
			}
			decl := envDeployment(names[:1], "1")
			obj := envDeployment(names, "1")
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Compare(decl, nil, obj, deploySchema, Options{Strict: true, StrictLists: true})
			}
		})
	}
}

// BenchmarkHostileEnvMatching is the same list declared in Git and sent
// back unchanged: every element is matched, none reported.
func BenchmarkHostileEnvMatching(b *testing.B) {
	for _, n := range []int{20000, 80000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			names := make([]string, n)
			for i := range names {
				names[i] = "VAR_" + strconv.Itoa(i)
			}
			decl, obj := envDeployment(names, "1"), envDeployment(names, "1")
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Compare(decl, nil, obj, deploySchema, Options{Strict: true, StrictLists: true})
			}
		})
	}
}

// BenchmarkHostileEnvAdded: Git's new revision adds the container, and the
// update that brings it carries n env vars Git does not declare, before
// the defaults are known and against them: linear in n, as above (the
// defaults of an element are found among Git's, not the request's).
func BenchmarkHostileEnvAdded(b *testing.B) {
	for _, n := range []int{20000, 80000} {
		names := make([]string, n)
		for i := range names {
			names[i] = "VAR_" + strconv.Itoa(n-i) // Git's one comes last
		}
		decl, obj := envDeployment(names[n-1:], "1"), envDeployment(names, "1")
		old := map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{}}}}}
		for _, defaults := range []map[string]any{nil, decl} {
			b.Run(fmt.Sprintf("%d/defaults=%v", n, defaults != nil), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					Compare(decl, old, obj, deploySchema, Options{Strict: true, StrictLists: true, Defaults: defaults})
				}
			})
		}
	}
}

// TestDeadlineStopsTheWalk: past its deadline a comparison stops and says
// so, however large the object.
func TestDeadlineStopsTheWalk(t *testing.T) {
	names := make([]string, 50000)
	for i := range names {
		names[i] = "VAR_" + strconv.Itoa(i)
	}
	decl, obj := envDeployment(names, "1"), envDeployment(names, "1")
	tests := []struct {
		name     string
		deadline time.Time
		want     bool // the last diff is Incomplete
	}{
		{name: "no deadline", want: false},
		{name: "deadline far ahead", deadline: time.Now().Add(time.Hour), want: false},
		{name: "deadline passed", deadline: time.Now().Add(-time.Second), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diffs := Compare(decl, nil, obj, deploySchema, Options{Strict: true, StrictLists: true, Deadline: tc.deadline})
			got := len(diffs) > 0 && diffs[len(diffs)-1].Kind == Incomplete
			if got != tc.want {
				t.Errorf("incomplete = %v (%d diffs), want %v", got, len(diffs), tc.want)
			}
		})
	}
}
