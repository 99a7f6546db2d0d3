package provenance

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

func TestDecodeObject(t *testing.T) {
	live, err := os.ReadFile("testdata/deployment-live.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		wantNil bool
		wantErr bool
	}{
		{name: "empty", in: "", wantNil: true},
		{name: "null", in: "null", wantNil: true},
		{name: "object", in: `{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}`},
		{name: "real deployment", in: string(live)},
		{name: "status is skipped", in: `{"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready"}]}}`},
		{name: "managedFields are skipped", in: `{"metadata":{"name":"a","managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}]},"spec":{}}`},
		{name: "metadata that is not an object", in: `{"metadata":3}`},
		{name: "malformed managedFields", in: `{"metadata":{"managedFields":[{]}}`, wantErr: true},
		{name: "truncated", in: `{"a":`, wantErr: true},
		{name: "array", in: `[1,2]`, wantErr: true},
		{name: "string", in: `"x"`, wantErr: true},
		{name: "trailing garbage", in: `{"a":1}}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeObject([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if tc.wantNil {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			// Same result as encoding/json, which the API server's JSON is
			// written for.
			want := stdDecode(t, []byte(tc.in))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("DecodeObject differs from encoding/json:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"a"},"spec":{"replicas":3}}`))
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","b":1e400}`))
	f.Add([]byte("{\"a\":\"\xff\",\"status\":{},\"metadata\":{\"managedFields\":[],\"n\":-0},\"metadata\":{\"x\":[1.5e2,1023,1024]}}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := DecodeObject(in)
		var want map[string]any
		stdErr := json.Unmarshal(in, &want)
		dropSkipped(want)
		// Strings with escapes or bytes beyond ASCII are decoded by
		// encoding/json itself, so even invalid UTF-8 reads the same.
		if len(in) == 0 || string(in) == "null" {
			return
		}
		if err != nil && stdErr == nil {
			t.Fatalf("refused (%v) what encoding/json accepts: %q", err, in)
		}
		if err == nil && stdErr != nil {
			t.Fatalf("accepted what encoding/json rejects (%v): %q", stdErr, in)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("differs from encoding/json on %q", in)
		}
	})
}

// stdDecode is encoding/json's result without status and
// metadata.managedFields, which DecodeObject skips.
func stdDecode(t *testing.T, in []byte) map[string]any {
	t.Helper()
	var want map[string]any
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatal(err)
	}
	dropSkipped(want)
	return want
}

func dropSkipped(obj map[string]any) {
	delete(obj, "status")
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
}

// TestDecodeSkipsOnlyIgnoredFields: DecodeObject may skip a field only
// because every comparison ignores it. Each skipped field must be a
// built-in ignore for every kind, whether or not Git declares it.
func TestDecodeSkipsOnlyIgnoredFields(t *testing.T) {
	for _, p := range skippedPointers {
		found := false
		for _, b := range builtinIgnores {
			if b.pointer == p && b.group == "" && b.kind == "" && !b.undeclaredOnly {
				found = true
			}
		}
		if !found {
			t.Errorf("DecodeObject skips %s, but no built-in ignore rule covers it for every kind", p)
		}
	}
	obj, err := DecodeObject([]byte(`{"status":{"x":1},"metadata":{"name":"a","managedFields":[{}]},"spec":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	if _, ok := obj[skippedTopField]; ok {
		t.Error("status decoded")
	}
	if _, ok := meta[skippedMetadataField]; ok {
		t.Error("managedFields decoded")
	}
	if meta["name"] != "a" || obj["spec"] == nil {
		t.Errorf("decoded %v", obj)
	}
}

// BenchmarkDecodeObject decodes the object of peer.sh's AdmissionReview
// (webhook/testdata/serve), as the webhook does for every person's write.
func BenchmarkDecodeObject(b *testing.B) {
	body, err := os.ReadFile("../webhook/testdata/serve/match.json")
	if err != nil {
		b.Fatal(err)
	}
	var review struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &review); err != nil {
		b.Fatal(err)
	}
	raw := review.Request.Object
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeObject(raw); err != nil {
			b.Fatal(err)
		}
	}
}
