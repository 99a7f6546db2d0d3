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
