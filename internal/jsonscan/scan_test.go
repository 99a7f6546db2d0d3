package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSkipValidatesAsEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":[1,-2.5e+3,true,false,null,"x\n\u00e9"]}`, ` {"a" : {"b":[]}} `, `"\ud800"`, `0`, `-0.0`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":1,}`, `[1 2]`, `{"a"}`, `{1:2}`,
		`tru`, `nul`, `{"a":[}`, `{"a":1}}`, `"\u12g4"`, strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "{\"\xff\":\"\xfe\"}",
	} {
		s := Scanner{B: []byte(in)}
		_, ok := s.Skip()
		got := ok && s.AtEnd()
		if want := json.Valid([]byte(in)) && depthOK(in); got != want {
			t.Errorf("Skip(%.40q) valid = %v, encoding/json says %v", in, got, want)
		}
	}
}

// depthOK: encoding/json.Valid has no depth limit; Unmarshal has.
func depthOK(in string) bool {
	var v any
	err := json.Unmarshal([]byte(in), &v)
	return err == nil || !strings.Contains(err.Error(), "max depth")
}

func FuzzSkip(f *testing.F) {
	for _, in := range []string{`{"a":[1,"b",{"c":null}]}`, `[true,false,-1e9]`, `"\u00e9"`} {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := Scanner{B: in}
		_, ok := s.Skip()
		if got, want := ok && s.AtEnd(), json.Valid(in); got != want && !(want && !depthOK(string(in))) {
			t.Fatalf("Skip(%q) valid = %v, encoding/json says %v", in, got, want)
		}
	})
}

// TestStringEndAtEveryOffset puts each byte that ends a plain run at every
// offset of a string: the scan must stop there, and say whether the string
// is plain.
func TestStringEndAtEveryOffset(t *testing.T) {
	for _, tc := range []struct {
		name      string
		insert    string
		ok, plain bool
	}{
		{name: "quote ends", insert: `"`, ok: true, plain: true},
		{name: "escape", insert: `\n`, ok: true},
		{name: "unicode escape", insert: `\u00e9`, ok: true},
		{name: "bad escape", insert: `\x`},
		{name: "control byte", insert: "\x1f"},
		{name: "tab", insert: "\t"},
		{name: "utf-8", insert: "é", ok: true},
		{name: "del is plain", insert: "\x7f", ok: true, plain: true},
		{name: "space is plain", insert: " ", ok: true, plain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n < 24; n++ {
				in := `"` + strings.Repeat("a", n) + tc.insert + strings.Repeat("b", 17) + `"`
				s := Scanner{B: []byte(in + ",")}
				end, plain, ok := s.stringEnd()
				wantEnd := len(in)
				if tc.insert == `"` {
					wantEnd = n + 2
				}
				if ok != tc.ok || ok && (end != wantEnd || plain != tc.plain) {
					t.Errorf("stringEnd(%q) = %d, plain %v, ok %v; want %d, plain %v, ok %v", in, end, plain, ok, wantEnd, tc.plain, tc.ok)
				}
			}
		})
	}
}

func BenchmarkSkip(b *testing.B) {
	doc := []byte(`{"metadata":{"name":"svc-00042","namespace":"team-00","labels":{"app.kubernetes.io/name":"svc-00042"}},` +
		`"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example.com/team-00/svc-00042:1.0.0",` +
		`"env":[{"name":"LOG_LEVEL","value":"info"},{"name":"GREETING","value":"h\u00e9llo"}]}]}}}}`)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		s := Scanner{B: doc}
		if _, ok := s.Skip(); !ok {
			b.Fatal("skip failed")
		}
	}
}
