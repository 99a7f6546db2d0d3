// Package jsonbench measures the JSON decoders gitgate could use for
// admission objects, on peer.sh's object (a Deployment as the API server
// sends it, 3.2 KB): each decodes into map[string]any, then drops status and
// metadata.managedFields as gitgate's DecodeObject skips them. A module of
// its own, so the candidates never enter gitgate's go.mod.
//
//	cd hack/jsonbench && go test -bench . -benchmem
package jsonbench

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	jsoniter "github.com/json-iterator/go"
	sigsjson "sigs.k8s.io/json"

	"github.com/gitgate/gitgate/provenance"
)

func object(tb testing.TB) []byte {
	b, err := os.ReadFile("../../webhook/testdata/serve/match.json")
	if err != nil {
		tb.Fatal(err)
	}
	var review struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(b, &review); err != nil {
		tb.Fatal(err)
	}
	return review.Request.Object
}

func drop(m map[string]any) map[string]any {
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
	return m
}

var decoders = []struct {
	name   string
	decode func([]byte) (map[string]any, error)
}{
	{"encoding-json", func(b []byte) (m map[string]any, err error) { err = json.Unmarshal(b, &m); return drop(m), err }},
	{"sigs.k8s.io-json", func(b []byte) (m map[string]any, err error) {
		err = sigsjson.UnmarshalCaseSensitivePreserveInts(b, &m)
		return drop(m), err
	}},
	{"json-iterator", func(b []byte) (m map[string]any, err error) {
		err = jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(b, &m)
		return drop(m), err
	}},
	{"goccy-go-json", func(b []byte) (m map[string]any, err error) { err = gojson.Unmarshal(b, &m); return drop(m), err }},
	{"sonic", func(b []byte) (m map[string]any, err error) { err = sonic.Unmarshal(b, &m); return drop(m), err }},
	{"gitgate-jsonscan", provenance.DecodeObject},
}

// TestSameValues: every candidate but sigs.k8s.io/json (int64 numbers)
// gives encoding/json's values.
func TestSameValues(t *testing.T) {
	obj := object(t)
	want, _ := decoders[0].decode(obj)
	for _, d := range decoders[2:] {
		got, err := d.decode(obj)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from encoding/json (%v)", d.name, err)
		}
	}
}

func BenchmarkDecodeObject(b *testing.B) {
	obj := object(b)
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(obj)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
